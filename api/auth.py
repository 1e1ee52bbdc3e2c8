"""Sign-in, server-side sessions, personal API tokens and the audit helper.

A browser holds a random session cookie; the database keeps only its sha256 (WebSession.id)
and the session's CSRF token. API clients send `Authorization: Bearer <token>`; only the
token's sha256 is stored (ApiToken.token_hash)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.audit import audit
from core.models import ApiToken, LoginAttempt, User, WebSession, utcnow
from core.security import (
    hash_password,
    needs_rehash,
    new_secret,
    rehash_password,
    sha256_hex,
    verify_password,
)
from core.settings import Settings

__all__ = ["audit", "LoginError", "authenticate", "create_session", "load_session"]

SESSION_COOKIE = "diemtin_session"
# Scope key: the session whose CSRF token api.csrf checked for this (unsafe) request.
CSRF_CHECKED = "diemtin_csrf_checked_session"
TOKEN_PREFIX = "dt_"
# A session's expiry is pushed forward at most this often, so reads rarely write.
SLIDE_EVERY = timedelta(minutes=5)
# Spent on unknown user names too, so timing does not tell which names exist.
_DUMMY_HASH = hash_password("không-phải-mật-khẩu-thật")


class LoginError(Exception):
    """A refused sign-in; the message is shown to the user (Vietnamese)."""

    def __init__(self, message: str, status_code: int = 401):
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class NewSession:
    """A created session: the cookie value (given to the browser once) and its row."""

    cookie: str
    row: WebSession


# Past login_rate_per_user failures for one name (from any address), tries are spaced out
# by at most this much: enough to slow a spread-out guesser, short enough for the real user.
USER_SPACING_CAP = timedelta(seconds=30)
SLOW_DOWN = "Đăng nhập sai quá nhiều lần. Vui lòng chờ {seconds} giây rồi thử lại."


def _failures(
    session: Session, window: timedelta, *where: Any, reset_by_success: bool = True
) -> tuple[int, datetime | None]:
    """Failures matching `where` within the window (and since the last success): count, latest."""
    since = utcnow() - window
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(*where, LoginAttempt.success.is_(True))
    )
    if reset_by_success and last_ok is not None and last_ok > since:
        since = last_ok
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            *where, LoginAttempt.success.is_(False), LoginAttempt.at > since
        )
    ).one()
    return int(count or 0), latest


def _wait(count: int, latest: datetime | None, free: int, cap: timedelta) -> int:
    """Seconds still to wait: after `free` failures each try waits twice the last, up to cap."""
    if count < free or latest is None:
        return 0
    delay = min(timedelta(seconds=2 ** min(count - free + 1, 20)), cap)
    return max(0, math.ceil((latest + delay - utcnow()).total_seconds()))


def authenticate(
    session: Session, *, username: str, password: str, ip: str, settings: Settings
) -> User:
    """Check a sign-in and record the attempt; raises LoginError with a Vietnamese message.

    Refuses (429) when the address has too many recent failures, and spaces out tries for a
    user name that keeps failing. There is no hard lock: the real user gets in after the
    wait, and unknown names are answered exactly like real ones (nothing tells them apart)."""
    username = username.strip()[:100]
    window = timedelta(minutes=settings.auth.login_window_minutes)
    # Not reset by a success: a guesser with an account of their own could reset it at will.
    by_ip = _failures(session, window, LoginAttempt.ip == ip, reset_by_success=False)
    if by_ip[0] >= settings.auth.login_rate_per_ip:
        raise LoginError(
            "Quá nhiều lần đăng nhập sai từ địa chỉ này. Vui lòng thử lại sau "
            f"{settings.auth.login_window_minutes} phút.",
            429,
        )
    # Per name and address first: a guesser elsewhere cannot slow the real user much.
    pair = _failures(session, window, LoginAttempt.username == username, LoginAttempt.ip == ip)
    wait = _wait(
        *pair, settings.auth.login_max_failures, timedelta(minutes=settings.auth.lockout_minutes)
    )
    anywhere = _failures(session, window, LoginAttempt.username == username)
    wait = max(wait, _wait(*anywhere, settings.auth.login_rate_per_user, USER_SPACING_CAP))
    if wait:
        raise LoginError(SLOW_DOWN.format(seconds=wait), 429)
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok or not user.active:
        session.add(LoginAttempt(username=username, ip=ip, success=False))
        session.commit()
        raise LoginError("Tên đăng nhập hoặc mật khẩu không đúng.")
    if needs_rehash(user.password_hash):
        # Old scrypt hashes (and argon2 with outdated parameters) move to today's argon2id.
        # A weak password already in use is still re-hashed: refusing here would lock them out.
        user.password_hash = rehash_password(password)
    user.last_login_at = utcnow()
    session.add(LoginAttempt(username=username, ip=ip, success=True))
    return user


def create_session(
    session: Session, user: User, *, settings: Settings, ip: str | None, user_agent: str | None
) -> NewSession:
    """Open a browser session for `user` (the caller commits and sets the cookie)."""
    cookie = new_secret()
    row = WebSession(
        id=sha256_hex(cookie),
        user_id=user.id,
        csrf_token=new_secret(),
        expires_at=utcnow() + timedelta(minutes=settings.auth.session_ttl_minutes),
        ip=ip,
        user_agent=(user_agent or "")[:300],
    )
    session.add(row)
    # Expired sessions are swept whenever someone signs in: no separate job needed.
    session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
    return NewSession(cookie=cookie, row=row)


def load_session(session: Session, cookie: str | None) -> WebSession | None:
    """The live session for a cookie value, or None (unknown or expired)."""
    if not cookie or len(cookie) > 200:
        return None
    row = session.get(WebSession, sha256_hex(cookie))
    if row is None or row.expires_at <= utcnow():
        return None
    return row


def slide_session(row: WebSession, settings: Settings) -> datetime | None:
    """The new expiry when the last push is older than SLIDE_EVERY, else None."""
    new_expiry = utcnow() + timedelta(minutes=settings.auth.session_ttl_minutes)
    return new_expiry if new_expiry - row.expires_at >= SLIDE_EVERY else None


def end_session(session: Session, cookie: str | None) -> None:
    """Delete the session behind a cookie (sign-out)."""
    if cookie:
        session.execute(delete(WebSession).where(WebSession.id == sha256_hex(cookie)))


def end_credentials(session: Session, user_id: int, *, keep_session: str | None = None) -> None:
    """End every browser session and revoke every API token of a user (the caller commits).

    Called when their password changes or they are deactivated, so that nothing issued
    under the old credentials outlives them (reactivation then revives nothing).
    `keep_session` (a WebSession id) spares the session making a self-service change."""
    ended = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_session is not None:
        ended = ended.where(WebSession.id != keep_session)
    session.execute(ended)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def create_token(session: Session, user: User, name: str) -> tuple[str, ApiToken]:
    """A new personal API token: the secret (shown once) and its stored row."""
    secret = TOKEN_PREFIX + new_secret()
    row = ApiToken(
        user_id=user.id, name=name.strip()[:200], token_hash=sha256_hex(secret), prefix=secret[:8]
    )
    session.add(row)
    session.flush()
    return secret, row


def load_token(session: Session, secret: str) -> ApiToken | None:
    """The live (not revoked) token row for a bearer secret, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256_hex(secret)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def bearer_problem(session: Session, header: str) -> str | None:
    """Why an Authorization header does not authenticate (Vietnamese), or None when it does."""
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return "Tiêu đề Authorization phải có dạng 'Bearer <mã truy cập>'."
    token = load_token(session, secret.strip())
    if token is None:
        return "Mã truy cập không hợp lệ hoặc đã bị thu hồi."
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return "Tài khoản của mã truy cập này đã bị khóa."
    return None


def ensure_first_admin(session: Session, settings: Settings) -> str | None:
    """Create the first admin from DIEMTIN_ADMIN_PASSWORD when there is no user yet.

    Returns a line for the operator: what was done, or how to create the first admin;
    None when users already exist."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    if not settings.auth.admin_password:
        return (
            "Chưa có tài khoản nào. Tạo quản trị viên đầu tiên bằng "
            "`diemtin user add admin --role admin`, hoặc đặt DIEMTIN_ADMIN_PASSWORD "
            "rồi chạy lại."
        )
    user = User(
        username=settings.auth.admin_username,
        full_name="Quản trị viên",
        role="admin",
        password_hash=hash_password(settings.auth.admin_password),
    )
    session.add(user)
    session.flush()
    audit(session, None, "user.create", "user", user.id, {"by": "DIEMTIN_ADMIN_PASSWORD"})
    return f"Đã tạo quản trị viên {user.username!r} từ DIEMTIN_ADMIN_PASSWORD."
