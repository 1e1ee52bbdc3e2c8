"""FastAPI dependencies: settings, database session, search backend, the current principal.

`get_principal` reads `Authorization: Bearer <token>` when present (API clients), else the
session cookie (browsers). Anonymous callers raise NotAuthenticated: HTML pages redirect to
/dang-nhap, the JSON API answers 401 (see api.main)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.auth import CSRF_CHECKED, SESSION_COOKIE, load_session, load_token, slide_session
from api.csrf import REFUSED as CSRF_REFUSED
from core.db import new_session, session_scope
from core.models import ApiToken, Role, User, WebSession, utcnow
from core.search import SearchBackend, get_backend
from core.settings import Settings

# Methods that change nothing; any other needs a CSRF-checked session (see api.csrf).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Row ids fit PostgreSQL's INTEGER; a larger id in a path is a 422, never a database error.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Mã số")]

# A unit focal point without a unit is scoped to this id, which no unit has (ids start at 1):
# "no unit" means "nothing", never "everything".
NO_UNIT = 0

# A token's last_used_at is written at most this often (reads should not all write).
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


class NotAuthenticated(Exception):
    """No valid session or token; the message says why (Vietnamese)."""


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_db(request: Request) -> Iterator[Session]:
    """A database session per request, closed afterwards."""
    session = new_session(
        request.app.state.settings.db_url, read_only=request.method in ("GET", "HEAD")
    )
    try:
        yield session
    finally:
        session.close()


def get_search(request: Request) -> SearchBackend:
    """The configured search backend."""
    return get_backend(request.app.state.settings)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user id, a role, and a unit for focal points."""

    user_id: int | None
    username: str
    role: str
    # Set for unit focal points: they see only their unit's alerts and coverage.
    unit_id: int | None = None
    full_name: str = ""
    # The caller's address, kept in the audit log.
    ip: str | None = None
    # "session" (browser cookie) or "token" (Authorization: Bearer).
    via: str = "session"
    # The WebSession id behind a cookie caller (kept through their own password change).
    session_id: str | None = None

    @property
    def unit_scope(self) -> int | None:
        """The one unit whose coverage this caller sees; None when they see the province."""
        if self.role != Role.unit_focal.value:
            return None
        return self.unit_id if self.unit_id is not None else NO_UNIT

    @property
    def display_name(self) -> str:
        """The name shown in the nav bar."""
        return self.full_name or self.username


def client_ip(request: Request) -> str:
    """The caller's address (the proxy in front is trusted to set it as the peer)."""
    return request.client.host if request.client else ""


def _write(request: Request, session: Session, model: Any, key: object, **values: Any) -> None:
    """A small bookkeeping write (expiry, last use) that must not disturb the request.

    GET requests read through a deferred SQLite transaction, which cannot upgrade to a
    write if another writer committed meanwhile; they write on a separate connection that
    waits for the lock instead. Other requests already hold the write lock: they commit
    the change on their own session."""
    stmt = update(model).where(model.__table__.c[_pk(model)] == key).values(**values)
    if request.method in ("GET", "HEAD"):
        session.rollback()  # end the read snapshot before the write; nothing is lost
        with session_scope(request.app.state.settings.db_url) as writer:
            writer.execute(stmt)
    else:
        session.execute(stmt)
        session.commit()


def _pk(model: Any) -> str:
    return str(model.__table__.primary_key.columns.keys()[0])


def _from_token(request: Request, session: Session, header: str) -> User:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("Tiêu đề Authorization phải có dạng 'Bearer <mã truy cập>'.")
    token = load_token(session, secret.strip())
    if token is None:
        raise NotAuthenticated("Mã truy cập không hợp lệ hoặc đã bị thu hồi.")
    if token.last_used_at is None or utcnow() - token.last_used_at > TOKEN_TOUCH_EVERY:
        _write(request, session, ApiToken, token.id, last_used_at=utcnow())
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("Tài khoản của mã truy cập này đã bị khóa.")
    return user


def _from_cookie(request: Request, session: Session, settings: Settings) -> WebSession:
    row = load_session(session, request.cookies.get(SESSION_COOKIE))
    if row is None:
        raise NotAuthenticated("Bạn cần đăng nhập để tiếp tục.")
    if (
        request.method not in SAFE_METHODS
        and request.scope.get("state", {}).get(CSRF_CHECKED) != row.id
    ):
        # api.csrf checked another session, or none: however the Cookie header was shaped,
        # a cookie authenticates a write only for the session whose CSRF token came with it.
        raise HTTPException(status_code=403, detail=CSRF_REFUSED)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("Tài khoản đã bị khóa. Vui lòng liên hệ quản trị viên.")
    new_expiry = slide_session(row, settings)
    if new_expiry is not None:
        _write(request, session, WebSession, row.id, expires_at=new_expiry)
    request.state.csrf_token = row.csrf_token
    return row


def get_principal(
    request: Request,
    session: Annotated[Session, Depends(get_db)],
    settings: Annotated[Settings, Depends(get_app_settings)],
) -> Principal:
    """The signed-in caller; raises NotAuthenticated for anonymous ones."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    header = request.headers.get("authorization")
    # A request that sends a token is judged by the token alone: never by a cookie too.
    session_id = None
    if header is not None:
        user, via = _from_token(request, session, header), "token"
    else:
        row = _from_cookie(request, session, settings)
        user, via, session_id = session.get(User, row.user_id), "session", row.id
        assert user is not None  # _from_cookie checked it
    principal = Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        unit_id=user.unit_id,
        full_name=user.full_name,
        ip=client_ip(request),
        via=via,
        session_id=session_id,
    )
    request.state.principal = principal
    return principal


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that refuses callers whose role is not among `roles`."""
    allowed = {r.value for r in roles}

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status_code=403, detail="Bạn không có quyền truy cập chức năng này."
            )
        return principal

    return check


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
SearchDep = Annotated[SearchBackend, Depends(get_search)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ReaderDep = Annotated[Principal, Depends(require_roles(*Role))]
OfficerDep = Annotated[Principal, Depends(require_roles(Role.admin, Role.press_officer))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.admin))]
