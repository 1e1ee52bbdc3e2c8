"""The store stage of ingest: one prepared item becomes a new, updated or unchanged document.

A new document joins the closest story (crawlers.dedupe); how an item for a stored document
is applied (kept, completed, edited) is decided in crawlers.revisions. Each write runs in a
savepoint, so a row the database rejects costs only itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from core.models import Document, Source
from crawlers.connectors.base import FetchedItem
from crawlers.dedupe import attach, reattach, refresh_story
from crawlers.fingerprint import fingerprint
from crawlers.prepare import Prepared
from crawlers.revisions import Incoming, Treatment, keep_revision, sync_quiet_meta, treat

_LOOKUP_CHUNK = 500
# Meta keys written by people rather than the crawler (crawlers.tipline): never dropped.
PRESERVED_META = ("submissions", "submitted_by")


def _create(session: Session, source: Source, p: Prepared, now: datetime) -> tuple[Document, bool]:
    """Insert a new document into the closest story; (document, joined an existing story)."""
    doc = Document(
        id=p.doc_id,
        source_id=source.id,
        kind=p.item.kind,
        url=p.url,
        canonical_url=p.canonical_url,
        native_id=p.native_id,
        title=p.title,
        lead=p.lead,
        body=p.body,
        author=p.author,
        published_at=p.published_at,
        fetched_at=now,
        updated_at=now,
        content_hash=p.content_hash,
        likes=p.item.likes,
        shares=p.item.shares,
        comments=p.item.comments,
        meta=p.meta,
        indexed_at=None,
        # A new document has no labels: saying so spares a SELECT when they are stored.
        classifications=[],
    )
    session.add(doc)
    joined = attach(session, doc, fingerprint(p.title, p.lead, p.body))
    return doc, joined


def _update(
    session: Session, doc: Document, p: Prepared, now: datetime, treatment: Treatment
) -> None:
    if treatment.revision:
        keep_revision(session, doc, now)
    doc.url = p.url or doc.url
    doc.title, doc.lead, doc.body = p.title, p.lead, p.body
    doc.author = p.author or doc.author
    # A stand-in date never replaces the one the document already has.
    if not p.date_from_fetch or doc.published_at is None:
        doc.published_at = p.published_at
    doc.content_hash = p.content_hash
    # A re-crawl refreshes what the source says, but keeps what people added (tipline).
    kept = {k: doc.meta[k] for k in PRESERVED_META if k in (doc.meta or {})}
    doc.meta = {**p.meta, **kept}
    doc.updated_at = now
    # Null marks it for the indexer, which then indexes the new text.
    doc.indexed_at = None
    doc.index_error = None
    _refresh_engagement(doc, p.item)
    if treatment.same_words:
        # The fingerprint folds what changed: the document stays where it is.
        if doc.story is not None:
            session.flush()
            refresh_story(session, doc.story)
        return
    reattach(session, doc, fingerprint(p.title, p.lead, p.body))


def _refresh_engagement(doc: Document, item: FetchedItem) -> None:
    # Counts move on every poll of a social post; they are not indexed, so they change
    # neither updated_at nor the index state.
    for name in ("likes", "shares", "comments"):
        value = getattr(item, name)
        if value is not None and getattr(doc, name) != value:
            setattr(doc, name, value)


def load_existing(
    session: Session, ids: Sequence[str], *, fresh: bool = False
) -> dict[str, Document]:
    """The stored documents among `ids`, with their labels and story; `fresh` re-reads rows
    this session already holds (another worker may have written them meanwhile)."""
    found: dict[str, Document] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        stmt = (
            select(Document)
            .where(Document.id.in_(chunk))
            .options(selectinload(Document.classifications), selectinload(Document.story))
            .execution_options(populate_existing=fresh)
        )
        found.update((d.id, d) for d in session.scalars(stmt))
    return found


def incoming(p: Prepared) -> Incoming:
    """What crawlers.revisions compares with the stored document."""
    return Incoming(p.title, p.lead, p.body, p.content_hash, p.meta)


def _upsert(
    session: Session, source: Source, p: Prepared, doc: Document | None, now: datetime
) -> tuple[str, Document]:
    """Create, update or leave one document; returns (outcome, document)."""
    if doc is None:
        doc, joined = _create(session, source, p, now)
        return ("joined" if joined else "new"), doc
    treatment = treat(doc, incoming(p))
    if treatment.action == "unchanged":
        _refresh_engagement(doc, p.item)
        sync_quiet_meta(doc, incoming(p), treatment)
        return "unchanged", doc
    _update(session, doc, p, now, treatment)
    return "updated", doc


def upsert_safely(
    session: Session, source: Source, p: Prepared, doc: Document | None, now: datetime
) -> tuple[str, Document]:
    """_upsert in a savepoint, so a row the database rejects rolls back alone; a document
    another worker inserted since we looked is updated instead of duplicated."""
    try:
        with session.begin_nested():
            return _upsert(session, source, p, doc, now)
    except IntegrityError:
        if doc is not None:
            raise
        # Two workers crawling the same source: the other one committed this document
        # between our lookup and our insert (PostgreSQL; SQLite writers queue up instead).
        doc = session.get(Document, p.doc_id, populate_existing=True)
        if doc is None:
            raise
        with session.begin_nested():
            return _upsert(session, source, p, doc, now)
