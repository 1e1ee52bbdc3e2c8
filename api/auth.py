"""Sign-in, server-side sessions, personal API tokens and the audit helper.

A browser holds a random session cookie; the database keeps only its sha256 (WebSession.id)
and the session's CSRF token. API clients send `Authorization: Bearer <token>`; only the
token's sha256 is stored (ApiToken.token_hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.audit import audit
from core.models import ApiToken, LoginAttempt, User, WebSession, utcnow
from core.security import hash_password, needs_rehash, new_secret, sha256_hex, verify_password
from core.settings import Settings

__all__ = ["audit", "LoginError", "authenticate", "create_session", "load_session"]

SESSION_COOKIE = "diemtin_session"
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


def _failures_since(session: Session, since_col: object, value: str, window: timedelta) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(since_col == value, LoginAttempt.success.is_(False))
            .where(LoginAttempt.at >= utcnow() - window)
        )
        or 0
    )


def authenticate(
    session: Session, *, username: str, password: str, ip: str, settings: Settings
) -> User:
    """Check a sign-in and record the attempt; raises LoginError with a Vietnamese message.

    Refuses when the address or the user name has too many recent failures (rate limit)
    and when the account is locked after `login_max_failures` consecutive failures."""
    username = username.strip()[:100]
    window = timedelta(minutes=settings.login_window_minutes)
    if _failures_since(session, LoginAttempt.ip, ip, window) >= settings.login_rate_per_ip:
        raise LoginError(
            "Quá nhiều lần đăng nhập sai từ địa chỉ này. Vui lòng thử lại sau "
            f"{settings.login_window_minutes} phút.",
            429,
        )
    if _failures_since(session, LoginAttempt.username, username, window) >= (
        settings.login_rate_per_user
    ):
        raise LoginError(
            "Quá nhiều lần đăng nhập sai với tên này. Vui lòng thử lại sau "
            f"{settings.login_window_minutes} phút.",
            429,
        )
    user = session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        session.add(LoginAttempt(username=username, ip=ip, success=False))
        session.commit()
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginError(
            f"Tài khoản tạm khóa do đăng nhập sai nhiều lần. Thử lại sau {minutes} phút "
            "hoặc liên hệ quản trị viên.",
            423,
        )
    ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok or not user.active:
        session.add(LoginAttempt(username=username, ip=ip, success=False))
        if user is not None and user.active:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                user.failed_logins = 0
                audit(session, None, "user.locked", "user", user.id, {"ip": ip})
        session.commit()
        raise LoginError("Tên đăng nhập hoặc mật khẩu không đúng.")
    if needs_rehash(user.password_hash):
        # Old scrypt hashes (and argon2 with outdated parameters) move to today's argon2id.
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
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
        expires_at=utcnow() + timedelta(minutes=settings.session_ttl_minutes),
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
    new_expiry = utcnow() + timedelta(minutes=settings.session_ttl_minutes)
    return new_expiry if new_expiry - row.expires_at >= SLIDE_EVERY else None


def end_session(session: Session, cookie: str | None) -> None:
    """Delete the session behind a cookie (sign-out)."""
    if cookie:
        session.execute(delete(WebSession).where(WebSession.id == sha256_hex(cookie)))


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


def ensure_first_admin(session: Session, settings: Settings) -> str | None:
    """Create the first admin from DIEMTIN_ADMIN_PASSWORD when there is no user yet.

    Returns a line for the operator: what was done, or how to create the first admin;
    None when users already exist."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    if not settings.admin_password:
        return (
            "Chưa có tài khoản nào. Tạo quản trị viên đầu tiên bằng "
            "`diemtin user add admin --role admin`, hoặc đặt DIEMTIN_ADMIN_PASSWORD "
            "rồi chạy lại."
        )
    user = User(
        username=settings.admin_username,
        full_name="Quản trị viên",
        role="admin",
        password_hash=hash_password(settings.admin_password),
    )
    session.add(user)
    session.flush()
    audit(session, None, "user.create", "user", user.id, {"by": "DIEMTIN_ADMIN_PASSWORD"})
    return f"Đã tạo quản trị viên {user.username!r} từ DIEMTIN_ADMIN_PASSWORD."
