"""What the press office works: rules, alert cases and their events, subscriptions, the fact
bank and the notification outbox."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, utcnow


class AlertStatus(enum.StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    assigned = "assigned"
    responded = "responded"
    closed = "closed"
    dismissed = "dismissed"


class Rule(Base):
    """A saved search that raises alerts: query syntax plus filters."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[str | None] = mapped_column(String(20))
    notify: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped on every ORM update, so workers know when their compiled copy is stale.
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)


class Alert(Base):
    """One case in the inbox; one per story (updated as it grows) or per rule/spike hit."""

    __tablename__ = "alerts"
    __table_args__ = (
        # One hot and one misinfo case per story (migration 0004a); rule alerts are per rule.
        Index(
            "ux_alerts_story_kind",
            "kind",
            "story_id",
            unique=True,
            sqlite_where=text("kind IN ('hot', 'misinfo') AND story_id IS NOT NULL"),
            postgresql_where=text("kind IN ('hot', 'misinfo') AND story_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="hot")
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20), default="medium")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.new.value, index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised each time the severity escalates; notifications are keyed on (alert, level).
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    fact_id: Mapped[int | None] = mapped_column(ForeignKey("facts.id"))
    acknowledged_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    dismiss_reason: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="AlertEvent.id"
    )


class AlertEvent(Base):
    """Every change to a case: who, when, what."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    alert: Mapped[Alert] = relationship(back_populates="events")


class Subscription(Base):
    """Who receives what: the daily digest or immediate alerts, over which channel."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="digest")
    channel: Mapped[str] = mapped_column(String(20), default="email")
    target: Mapped[str] = mapped_column(String(500))
    # Local time (Asia/Ho_Chi_Minh) of the daily digest, "HH:MM".
    send_at: Mapped[str] = mapped_column(String(5), default="07:00")
    min_severity: Mapped[str] = mapped_column(String(20), default="high")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "HH:MM-HH:MM" local time during which only critical alerts are sent; empty = none.
    quiet_hours: Mapped[str] = mapped_column(String(11), default="")
    # Only alerts about this unit (unit focal points); null = all.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))


class Fact(Base):
    """The fact bank: a statement the Department verified, or a claim it already refuted."""

    __tablename__ = "facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="refuted")  # "refuted" | "verified"
    statement: Mapped[str] = mapped_column(Text)
    # The official correction or statement to reuse when the claim resurfaces.
    correction: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str | None] = mapped_column(String(2000))
    # The encoder's embedding of the statement (float32 bytes), filled when saved.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """The outbox: one row per message to send; `dedupe_key` makes every send happen once."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "alert:12:level:1:sub:3" or "digest:3:2026-11-23"; a second insert is refused.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="alert")  # alert | digest | bundle
    channel: Mapped[str] = mapped_column(String(20), default="email")
    target: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # pending -> sending -> sent; failed after the last retry (kept, visible, re-queueable).
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
