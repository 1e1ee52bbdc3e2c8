"""Digest and alert subscriptions written by the admin: checked, saved and audited."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from alerts.detection.rule_service import Channel, Severity
from core.audit import Actor, commit_audited, delete_audited, submitted
from core.models import Subscription, Unit, User
from core.rows import DbId, get_row

HH_MM = r"([01]\d|2[0-3]):[0-5]\d"


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "digest", "channel": "email",
                    "target": "lanhdao@sogddt.example.gov.vn", "send_at": "07:00",
                    "min_severity": "high", "quiet_hours": "22:00-06:00",
                }
            ]
        }
    )  # fmt: skip
    user_id: DbId | None = None
    kind: Literal["digest", "alert"] = "digest"
    channel: Channel = "email"
    target: str = Field(min_length=1, max_length=500)
    send_at: str = Field(default="07:00", pattern=rf"^{HH_MM}$")
    min_severity: Severity = "high"
    quiet_hours: str = Field(default="", pattern=rf"^$|^{HH_MM}-{HH_MM}$")
    unit_id: DbId | None = None
    enabled: bool = True


def _subscription_values(session: Session, data: SubscriptionIn) -> dict[str, Any]:
    if data.user_id is not None:
        get_row(session, User, data.user_id, "người dùng")
    if data.unit_id is not None:
        get_row(session, Unit, data.unit_id, "đơn vị")
    target = data.target.strip()
    if data.channel == "email" and "@" not in target:
        raise ValueError("Địa chỉ email nhận tin không hợp lệ.")
    if data.channel == "webhook" and not target.lower().startswith(("https://", "http://")):
        raise ValueError("Webhook phải là địa chỉ http:// hoặc https://.")
    return {**data.model_dump(), "target": target}


def create_subscription(session: Session, *, actor: Actor, data: SubscriptionIn) -> Subscription:
    """Add a digest or alert subscription."""
    sub = Subscription(**_subscription_values(session, data))
    return commit_audited(session, actor, "subscription.create", sub, submitted(data))


def update_subscription(
    session: Session, sub: Subscription, *, actor: Actor, data: SubscriptionIn
) -> Subscription:
    """Replace a subscription's settings."""
    for key, value in _subscription_values(session, data).items():
        setattr(sub, key, value)
    return commit_audited(session, actor, "subscription.update", sub, submitted(data))


def delete_subscription(session: Session, sub: Subscription, *, actor: Actor) -> None:
    """Remove a subscription."""
    delete_audited(session, actor, "subscription.delete", sub, None)
