"""How a re-crawled item meets the document already stored: the one place that decides.

A feed repeats its last items on every poll, usually with a summary only. The article text
came from the page (crawlers.enrich), so a feed item must never overwrite it; only a real
edit by the outlet (title, lead or body changed on the page, or in a full-text feed) changes
the stored text, and then the version it replaces is kept as a DocumentRevision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.models import Document, DocumentRevision
from core.text import normalize

# Where an item's body came from (FetchedItem.meta["body_from"]): the feed's own text, the
# article page, or anything else a connector gives (a site crawl, a social post).
ORIGIN_FEED = "feed"
ORIGIN_PAGE = "page"
ORIGIN_SOURCE = "source"
# Meta that follows every poll without counting as a change: what the feed said last time
# and whether the article page answered.
FEED_HASH = "feed_hash"
PAGE_UNAVAILABLE = "page_unavailable"
# The page was not read this poll (the per-poll page limit): read it on a later one.
PAGE_PENDING = "page_pending"
RETRY_KEYS = (PAGE_UNAVAILABLE, PAGE_PENDING)
# A page edited over and over keeps its newest versions only.
MAX_REVISIONS = 20


def origin(meta: dict[str, Any] | None) -> str:
    """Where a document's or item's text came from: feed, page or source."""
    value = (meta or {}).get("body_from")
    return value if value in (ORIGIN_FEED, ORIGIN_PAGE) else ORIGIN_SOURCE


@dataclass(frozen=True)
class Incoming:
    """The text and meta of an item, normalised for storage."""

    title: str
    lead: str
    body: str
    content_hash: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class Treatment:
    """What to do with a stored document: keep its text or update it, keeping a revision."""

    # "unchanged": text kept, meta synced quietly; "update": the item's text replaces it.
    action: str
    # Keep the stored version as a DocumentRevision first (a real edit by the outlet).
    revision: bool = False
    # The text changed only in ways the match keys ignore (tone-mark placement, NFC):
    # no story move is needed.
    same_words: bool = False


def _words(title: str, lead: str, body: str) -> tuple[str, ...]:
    # normalize() moves every tone mark to one position; "Hoá" and "Hóa" are one word.
    return tuple(" ".join(normalize(t).split()) for t in (title, lead, body))


def treat(doc: Document, new: Incoming) -> Treatment:
    """Decide how `new` (an item for an already-stored document) is applied to `doc`."""
    old_origin, new_origin = origin(doc.meta), origin(new.meta)
    if new_origin == ORIGIN_FEED and old_origin != ORIGIN_FEED:
        # A feed summary never replaces text read from the page or the site: the page is
        # fetched again when the feed itself changed (crawlers.enrich), and that fetch is
        # what may bring an edit.
        return Treatment("unchanged")
    if doc.content_hash == new.content_hash:
        return Treatment("unchanged")
    same_words = _words(doc.title, doc.lead, doc.body) == _words(new.title, new.lead, new.body)
    # An edit is a change seen by the same reader (feed, page, site crawl): completing a
    # feed summary with the page text, or a site crawl's extraction differing from an RSS
    # one, is not; neither is a spelling the match keys cannot tell apart (text stored
    # before it was kept verbatim).
    had_text = bool(doc.title or doc.lead or doc.body)
    revision = had_text and old_origin == new_origin and not same_words
    return Treatment("update", revision=revision, same_words=same_words)


def sync_quiet_meta(doc: Document, new: Incoming, treatment: Treatment) -> bool:
    """Bring the poll-to-poll meta of an unchanged document up to date; True when it moved.

    A kept page text takes the feed's new hash only once the page was read again, so a
    changed feed keeps asking for the page until it answers."""
    meta = dict(doc.meta or {})
    page_read = origin(new.meta) != ORIGIN_FEED
    feed_matches_text = origin(doc.meta) == ORIGIN_FEED or page_read
    if FEED_HASH in new.meta and feed_matches_text:
        meta[FEED_HASH] = new.meta[FEED_HASH]
    for key in RETRY_KEYS:
        if key in new.meta:
            meta[key] = new.meta[key]
        elif page_read:
            meta.pop(key, None)
    if meta == (doc.meta or {}):
        return False
    doc.meta = meta
    return True


def keep_revision(session: Session, doc: Document, now: datetime) -> None:
    """Store the document's current text as a revision replaced at `now`."""
    session.add(
        DocumentRevision(
            document_id=doc.id,
            title=doc.title,
            lead=doc.lead,
            body=doc.body,
            content_hash=doc.content_hash,
            replaced_at=now,
        )
    )
    session.flush()
    stale = select(DocumentRevision.id).where(DocumentRevision.document_id == doc.id)
    ids = list(session.scalars(stale.order_by(DocumentRevision.replaced_at.desc())))
    if len(ids) > MAX_REVISIONS:
        session.execute(
            delete(DocumentRevision).where(DocumentRevision.id.in_(ids[MAX_REVISIONS:]))
        )


@dataclass(frozen=True)
class DocState:
    """What a re-poll must leave alone: text version, body length, story, last update."""

    content_hash: str
    body_chars: int
    story_id: int | None
    updated_at: datetime


@dataclass(frozen=True)
class RepollReport:
    """Changes between two snapshots; an unchanged re-poll gives 0 / 0 / 0 / 0."""

    documents: int
    new: int
    updated: int
    shortened: int
    stories_changed: int


def corpus_state(session: Session, source_ids: list[int] | None = None) -> dict[str, DocState]:
    """A snapshot of the stored documents (of `source_ids`, or all) for repoll_report."""
    stmt = select(
        Document.id, Document.content_hash, Document.body, Document.story_id, Document.updated_at
    )
    if source_ids is not None:
        stmt = stmt.where(Document.source_id.in_(source_ids))
    return {
        row.id: DocState(row.content_hash, len(row.body or ""), row.story_id, row.updated_at)
        for row in session.execute(stmt)
    }


def repoll_report(before: dict[str, DocState], after: dict[str, DocState]) -> RepollReport:
    """Documents updated, bodies shortened and documents moved to another story between
    two snapshots (bench/ingest.py prints it for an unchanged second poll)."""
    kept = [(before[i], after[i]) for i in after if i in before]
    return RepollReport(
        documents=len(after),
        new=len(after) - len(kept),
        updated=sum(
            a.updated_at != b.updated_at or a.content_hash != b.content_hash for b, a in kept
        ),
        shortened=sum(a.body_chars < b.body_chars for b, a in kept),
        stories_changed=sum(a.story_id != b.story_id for b, a in kept),
    )


def measure_repoll(
    session: Session, poll: Callable[[], object], source_ids: list[int] | None = None
) -> RepollReport:
    """Run `poll` (a second crawl of unchanged sources) and report what it changed."""
    before = corpus_state(session, source_ids)
    poll()
    session.expire_all()
    return repoll_report(before, corpus_state(session, source_ids))
