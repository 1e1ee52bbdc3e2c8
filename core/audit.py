"""The audit log: who changed what, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from core.models import AuditLog


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
