"""Users written by the admin API, audited in the same commit as the change.

Users are api's own (sign-in, sessions, tokens: api.auth); the other entities' writes live
with their owners (alerts.detection, alerts.units, alerts.notify.subscriptions,
crawlers.source_service). Errors are ValueError (bad input, message in Vietnamese) or
core.rows.NotFound; nothing is written on error."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.admin_schemas import UserIn, UserUpdate
from api.auth import end_credentials
from api.deps import Principal
from core.audit import commit_audited, submitted
from core.models import Role, Unit, User
from core.rows import get_row
from core.security import hash_password


def _check_user_unit(session: Session, role: str, unit_id: int | None) -> None:
    if unit_id is not None:
        get_row(session, Unit, unit_id, "đơn vị")
    if role == Role.unit_focal.value and unit_id is None:
        raise ValueError("Đầu mối đơn vị phải gắn với một đơn vị.")


def create_user(session: Session, *, actor: Principal, data: UserIn) -> User:
    """Add a user; the password is hashed with core.security."""
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise ValueError(f"Tên đăng nhập «{data.username}» đã tồn tại.")
    _check_user_unit(session, data.role.value, data.unit_id)
    user = User(
        username=data.username,
        full_name=data.full_name.strip(),
        email=(data.email or "").strip() or None,
        role=data.role.value,
        unit_id=data.unit_id,
        password_hash=hash_password(data.password),
    )
    return commit_audited(session, actor, "user.create", user, submitted(data))


def update_user(session: Session, user: User, *, actor: Principal, data: UserUpdate) -> User:
    """Change a user's role, unit, details or password, or deactivate them."""
    fields = data.model_dump(exclude_unset=True)
    role = fields["role"].value if fields.get("role") is not None else user.role
    unit_id = fields.get("unit_id", user.unit_id)
    _check_user_unit(session, role, unit_id)
    itself = user.id == actor.user_id
    if itself and (fields.get("active") is False or role != user.role):
        raise ValueError("Không thể tự khóa hoặc tự đổi vai trò của chính mình.")
    if fields.get("password"):
        user.password_hash = hash_password(fields["password"])
    if fields.get("password") or (fields.get("active") is False and user.active):
        # Nothing issued under the old password (or before a deactivation) survives it;
        # an admin changing their own password keeps the session they are using.
        own = itself and actor.via == "session"
        end_credentials(session, user.id, keep_session=actor.session_id if own else None)
    user.role, user.unit_id = role, unit_id
    for key in ("full_name", "email", "active"):
        if fields.get(key) is not None:
            setattr(user, key, fields[key])
    return commit_audited(session, actor, "user.update", user, submitted(data))
