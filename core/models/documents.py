"""What is crawled and what it becomes: sources, crawl runs, documents and their revisions,
stories, classifications, and the corrections that feed training."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, utcnow
from core.models.users import Unit


class SourceKind(enum.StrEnum):
    rss = "rss"
    site = "site"
    facebook = "facebook"
    youtube = "youtube"
    forum = "forum"
    tipline = "tipline"


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=SourceKind.rss.value)
    url: Mapped[str] = mapped_column(String(2000))
    # Outlet scope for spread scoring: "local" | "national" | "social".
    scope: Mapped[str] = mapped_column(String(20), default="national")
    # 2025 province code (core.geo.data) of a local outlet; None: national press, social media.
    province: Mapped[str | None] = mapped_column(String(10), index=True)
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
    places: Mapped[list[DocumentPlace]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="DocumentPlace.code"
    )
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


class DocumentUnit(Base):
    __tablename__ = "document_units"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )


class DocumentPlace(Base):
    """A 2025 province or commune a document is about (core.geo.locate; migration 0008)."""

    __tablename__ = "document_places"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "province" | "commune"


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
