"""The ingest pipeline: fetched items -> normalised, deduplicated, classified documents.

Ids come from the canonical URL, so a re-crawl updates a document and never duplicates it;
near-duplicates from other URLs and outlets join one story (crawlers.dedupe). How an item for
a stored document is applied (kept, completed, edited) is decided in crawlers.revisions.
Text is stored as published (NFC, no control characters); tone-mark placement, case and
accents are folded only in match keys and the search index (core.text)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from classifier.base import Classifier
from core.celery_app import (
    CLASSIFY_DOCUMENT,
    CLASSIFY_DOCUMENTS,
    EVALUATE_DOCUMENTS,
    INDEX_DOCUMENTS,
    send_task_safely,
)
from core.models import Document, Source, utcnow
from core.settings import get_settings
from crawlers.classify import model_enabled
from crawlers.connectors.base import FetchedItem
from crawlers.dedupe import attach, reattach, refresh_story
from crawlers.fingerprint import fingerprint
from crawlers.labelling import (
    default_classifier,
    joined_text,
    predict_texts,
    store_labels,
)
from crawlers.prepare import Prepared, prepare
from crawlers.revisions import Incoming, Treatment, keep_revision, sync_quiet_meta, treat
from crawlers.story_index import prune_bands

log = logging.getLogger(__name__)

_LOOKUP_CHUNK = 500
# Items written per transaction: a long crawl never holds the SQLite writer lock for long,
# and one failed commit costs at most this many items.
BATCH_SIZE = 25
# A write transaction of ingest commits once it has held the lock this long.
WRITE_SLICE_S = 0.1
# Meta keys written by people rather than the crawler (crawlers.tipline): never dropped.
PRESERVED_META = ("submissions", "submitted_by")
# Story bands of long-quiet stories are pruned at most this often per process.
PRUNE_EVERY_S = 3600.0
_last_prune = float("-inf")


@dataclass
class IngestStats:
    """Counts of one ingest call; seen = new + updated + unchanged + errors."""

    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    # New documents that joined an existing story (a copy or rewrite of something known).
    joined: int = 0


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


def _load_existing(
    session: Session, ids: Sequence[str], *, fresh: bool = False
) -> dict[str, Document]:
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


def _incoming(p: Prepared) -> Incoming:
    return Incoming(p.title, p.lead, p.body, p.content_hash, p.meta)


def _upsert(
    session: Session, source: Source, p: Prepared, doc: Document | None, now: datetime
) -> tuple[str, Document]:
    """Create, update or leave one document; returns (outcome, document)."""
    if doc is None:
        doc, joined = _create(session, source, p, now)
        return ("joined" if joined else "new"), doc
    treatment = treat(doc, _incoming(p))
    if treatment.action == "unchanged":
        _refresh_engagement(doc, p.item)
        sync_quiet_meta(doc, _incoming(p), treatment)
        return "unchanged", doc
    _update(session, doc, p, now, treatment)
    return "updated", doc


def _upsert_safely(
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


def _maybe_prune(session: Session, now: datetime) -> None:
    global _last_prune
    if time.monotonic() - _last_prune < PRUNE_EVERY_S:
        return
    _last_prune = time.monotonic()
    try:
        with session.begin_nested():
            pruned = prune_bands(session, now)
        if pruned:
            log.info("pruned %d story bands of quiet stories", pruned)
    except Exception:
        # Housekeeping only: the next hour tries again.
        log.exception("pruning story bands failed")


def ingest(
    session: Session,
    source: Source,
    items: Iterable[FetchedItem],
    *,
    classifier: Classifier | None = None,
) -> IngestStats:
    """Upsert items as documents of `source`, cluster new ones into stories, classify
    new/changed ones, commit, and ask for indexing (and alert evaluation when enabled).
    One bad item is counted and logged; it never costs the others."""
    stats = IngestStats()
    now = utcnow()
    prepared: dict[str, Prepared] = {}
    for item in items:
        stats.seen += 1
        try:
            p = prepare(source, item, now)
        except Exception as exc:
            _item_error(stats, source, item, exc)
            continue
        if p.doc_id in prepared:  # the same article twice in one batch
            stats.unchanged += 1
            continue
        prepared[p.doc_id] = p

    classifier = classifier or default_classifier()
    batch_list = list(prepared.values())
    touched: list[Document] = []
    unlabelled: list[Document] = []
    for start in range(0, len(batch_list), BATCH_SIZE):
        done, left = _ingest_batch(
            session, source, batch_list[start : start + BATCH_SIZE], now, classifier, stats
        )
        touched += done
        unlabelled += left
    if touched:
        _maybe_prune(session, now)
    session.commit()
    for doc in unlabelled:
        # The classify queue tries again (crawlers/tasks.py), then re-indexes and evaluates.
        send_task_safely(CLASSIFY_DOCUMENT, args=[doc.id])
    if touched:
        send_task_safely(INDEX_DOCUMENTS)
        # Alerts by task name, so the two layers stay apart (architecture.md); one batch per
        # ingest call: one transaction, each story scored once.
        send_task_safely(EVALUATE_DOCUMENTS, args=[[doc.id for doc in touched]])
        _queue_model([doc.id for doc in touched])
    return stats


def _ingest_batch(
    session: Session,
    source: Source,
    batch: list[Prepared],
    now: datetime,
    classifier: Classifier,
    stats: IngestStats,
) -> tuple[list[Document], list[Document]]:
    """Write one batch in its own transaction; (touched, left unlabelled).

    The classifier runs between a short read and the write, so the writer lock (SQLite
    takes it at the first write, core/db_lock.py) is never held while a model computes."""
    existing = _load_existing(session, [p.doc_id for p in batch])
    to_label = [
        p
        for p in batch
        if (doc := existing.get(p.doc_id)) is None or treat(doc, _incoming(p)).action != "unchanged"
    ]
    session.commit()
    labels = predict_texts(
        classifier,
        {p.doc_id: joined_text(p.title, p.lead, p.body) for p in to_label},
    )
    # Looked up again inside the write: another worker may have written meanwhile.
    existing = _load_existing(session, [p.doc_id for p in batch], fresh=True)
    touched: list[Document] = []
    unlabelled: list[Document] = []
    slice_start = time.monotonic()
    for p in batch:
        try:
            outcome, doc = _upsert_safely(session, source, p, existing.get(p.doc_id), now)
        except Exception as exc:
            _item_error(stats, source, p.item, exc)
            continue
        if outcome == "unchanged":
            stats.unchanged += 1
            continue
        if outcome == "joined":
            stats.joined += 1
            outcome = "new"
        setattr(stats, outcome, getattr(stats, outcome) + 1)
        touched.append(doc)
        unlabelled += store_labels(session, [doc], labels)
        # Matching one item against a big story costs tens of ms under load: commit by time
        # as well as by count, so a batch of such items never holds the lock for long.
        if time.monotonic() - slice_start > WRITE_SLICE_S:
            session.commit()
            slice_start = time.monotonic()
    session.commit()
    return touched, unlabelled


def _queue_model(doc_ids: list[str]) -> None:
    # One task for the whole ingest call, so the worker classifies in full batches.
    if model_enabled(get_settings()):
        send_task_safely(CLASSIFY_DOCUMENTS, args=[doc_ids])


def _item_error(stats: IngestStats, source: Source, item: FetchedItem, exc: Exception) -> None:
    stats.errors += 1
    message = f"{item.url or item.native_id or '?'}: {type(exc).__name__}: {exc}"
    stats.error_messages.append(message[:500])
    log.warning("skipping item from source %s: %s", source.id, message)
