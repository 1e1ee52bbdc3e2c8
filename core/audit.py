"""The audit log: who changed what, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.models import AuditLog


class HasId(Protocol):
    """A stored row: anything with an id."""

    @property
    def id(self) -> Any: ...


Row = TypeVar("Row", bound=HasId)


class Actor(Protocol):
    """Anyone who can act: api.deps.Principal, or a system actor."""

    @property
    def user_id(self) -> int | None: ...


def audit(
    session: Session,
    principal: Actor | None,
    action: str,
    entity: str,
    entity_id: object | None = None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Record one change (the caller commits with the change itself)."""
    row = AuditLog(
        actor_id=principal.user_id if principal is not None else None,
        action=action[:60],
        entity=entity[:40],
        entity_id=None if entity_id is None else str(entity_id)[:64],
        data=data or {},
        ip=getattr(principal, "ip", None),
    )
    session.add(row)
    return row


def submitted(data: BaseModel, **extra: Any) -> dict[str, Any]:
    """The fields a form or API call sent, for the audit log; a password is only noted."""
    fields = data.model_dump(mode="json", exclude_unset=True)
    if fields.pop("password", None):
        fields["password_changed"] = True
    return {**fields, **extra}


def commit_audited(
    session: Session, actor: Actor | None, action: str, row: Row, data: dict[str, Any] | None
) -> Row:
    """Save `row` (new or changed) and its audit row in one commit; returns the row.

    `action` is "<entity>.<verb>" ("rule.create"); the entity names the audit row."""
    session.add(row)
    session.flush()  # a new row gets its id here
    audit(session, actor, action, action.split(".")[0], row.id, data)
    session.commit()
    return row


def delete_audited(
    session: Session, actor: Actor | None, action: str, row: HasId, data: dict[str, Any] | None
) -> None:
    """Delete `row` and write its audit row in one commit."""
    audit(session, actor, action, action.split(".")[0], row.id, data)
    session.delete(row)
    session.commit()
