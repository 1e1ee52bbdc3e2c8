"""FastAPI dependencies: settings, database session, search backend, the current principal.

Authentication arrives with the web-app issue: it replaces `get_principal` (sessions and
API tokens); routes already declare the roles they allow through `require_roles`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from core.db import new_session
from core.models import Role
from core.search import SearchBackend, get_backend
from core.settings import Settings


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
    """Who is calling: a user id (None before auth exists), a role, and a unit for focal points."""

    user_id: int | None
    username: str
    role: str
    # Set for unit focal points: they see only their unit's alerts and coverage.
    unit_id: int | None = None


def get_principal(request: Request) -> Principal:
    """The caller; until sign-in lands every caller is the local operator with the admin role."""
    return Principal(user_id=None, username="operator", role=Role.admin.value)


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
ReaderDep = Annotated[Principal, Depends(require_roles(*Role))]
