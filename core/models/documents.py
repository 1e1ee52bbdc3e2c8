"""The domain model shared by every layer: SQLAlchemy 2 tables for sources, documents, stories,
classifications, alerts, rules, users, units and subscriptions."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone and comparisons must agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class SourceKind(enum.StrEnum):
    rss = "rss"
    site = "site"
    facebook = "facebook"
    youtube = "youtube"
    forum = "forum"
    tipline = "tipline"


class Role(enum.StrEnum):
    admin = "admin"
    press_officer = "press_officer"
    leadership = "leadership"
    unit_focal = "unit_focal"


class AlertStatus(enum.StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    assigned = "assigned"
    responded = "responded"
    closed = "closed"
    dismissed = "dismissed"


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=SourceKind.rss.value)
    url: Mapped[str] = mapped_column(String(2000))
    # Outlet scope for spread scoring: "local" | "national" | "social".
    scope: Mapped[str] = mapped_column(String(20), default="national")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    poll_interval_s: Mapped[int] = mapped_column(Integer, default=900)
    next_poll_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # "unknown" until first poll, then "ok" or "failing"; "flagged" needs an admin's look.
    health: Mapped[str] = mapped_column(String(20), default="unknown")
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="source")


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Story(Base):
    """Documents about the same event (syndicated copies, rewrites) share one story."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    doc_count: Mapped[int] = mapped_column(Integer, default=0)
    outlet_count: Mapped[int] = mapped_column(Integer, default=0)
    # 64-bit SimHash of the first document's normalised text, stored signed for PostgreSQL.
    simhash: Mapped[int | None] = mapped_column(BigInteger)

    documents: Mapped[list[Document]] = relationship(back_populates="story")


class StoryMinhashBand(Base):
    """One LSH band of a story's MinHash signature (near-duplicate lookup, crawlers.dedupe)."""

    __tablename__ = "story_minhash_bands"

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # The band's MinHash values packed into one integer; (band, bucket) is the lookup key.
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_published_at", "published_at"),
        Index("ix_documents_unindexed", "indexed_at"),
        # Covers the period figures (dashboard, report): no article row is read (0004p).
        Index("ix_documents_period", "published_at", "source_id", "id"),
        Index("ix_documents_unevaluated", "evaluated_at"),
    )

    # uuid5 of the canonical URL (or of source + native id for items without a URL).
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="article")
    url: Mapped[str | None] = mapped_column(String(2000))
    canonical_url: Mapped[str | None] = mapped_column(String(2000))
    native_id: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(Text, default="")
    lead: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    likes: Mapped[int | None] = mapped_column(Integer)
    shares: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Null until the search backend has the current version; the indexer retries these.
    indexed_at: Mapped[datetime | None]
    index_error: Mapped[str | None] = mapped_column(Text)
    # Null until alert evaluation committed for it; the sweep queues such documents (0006).
    evaluated_at: Mapped[datetime | None]

    source: Mapped[Source] = relationship(back_populates="documents")
    story: Mapped[Story | None] = relationship(back_populates="documents")
    classifications: Mapped[list[Classification]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="Classification.id"
    )
    units: Mapped[list[Unit]] = relationship(secondary="document_units")
    # Earlier versions the outlet replaced by editing the article (migration 0005).
    revisions: Mapped[list[DocumentRevision]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DocumentRevision.replaced_at",
    )

    @property
    def classification(self) -> Classification | None:
        """The newest classification, if any."""
        return self.classifications[-1] if self.classifications else None


class DocumentRevision(Base):
    """A version of a document the outlet later edited, as it was stored before the edit."""

    __tablename__ = "document_revisions"
    __table_args__ = (Index("ix_document_revisions_document_id", "document_id", "replaced_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text, default="")
    lead: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # When the crawler saw the edit: this version was shown until then.
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[Document] = relationship(back_populates="revisions")


class Classification(Base):
    __tablename__ = "classifications"
    __table_args__ = (UniqueConstraint("document_id", "model_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    model_version: Mapped[str] = mapped_column(String(100))
    relevance: Mapped[float] = mapped_column(Float, default=0.0)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    topic_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sentiment: Mapped[str] = mapped_column(String(20), default="trung_tinh")
    sentiment_score: Mapped[float] = mapped_column(Float, default=0.0)
    risk: Mapped[str] = mapped_column(String(20), default="binh_thuong")
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    toxicity: Mapped[float] = mapped_column(Float, default=0.0)
    misinformation: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[Document] = relationship(back_populates="classifications")


class Unit(Base):
    """A unit of the Department: the Sở itself, a Phòng GDĐT, a school."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(30), default="truong")
    district: Mapped[str | None] = mapped_column(String(200))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # Where the unit's focal point is reached when an alert names the unit (besides its users).
    focal_email: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DocumentUnit(Base):
    __tablename__ = "document_units"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default=Role.press_officer.value)
    password_hash: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sign-in protection: consecutive failures and the lockout they cause.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie carries `id`; forms echo `csrf_token`."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie value
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class ApiToken(Base):
    """A personal token for the JSON API (Authorization: Bearer ...); only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Every sign-in try, for rate limiting by address and by user name."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_ip_at", "ip", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditLog(Base):
    """Who changed what: every write through the web app or the API."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40), default="")
    entity_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


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


class LabelCorrection(Base):
    """A press officer's correction of the classifier (or a dismissed case): training data."""

    __tablename__ = "label_corrections"
    __table_args__ = (UniqueConstraint("document_id", "head"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"), index=True
    )
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    # relevance | topics | sentiment | risk | toxicity | misinformation
    head: Mapped[str] = mapped_column(String(30))
    # The correct value: 0/1 for binary heads, a label for classes, a list for topics.
    value: Mapped[Any] = mapped_column(JSON)
    # The model input at correction time, so training needs no join and survives deletion.
    text: Mapped[str] = mapped_column(Text, default="")
    model_version: Mapped[str | None] = mapped_column(String(100))
    predicted: Mapped[Any | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HealthProbe(Base):
    """One row /healthz rewrites: proof that the database can be written, not only read."""

    __tablename__ = "health_probe"

    id: Mapped[int] = mapped_column(primary_key=True)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)
