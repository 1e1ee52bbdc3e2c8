"""The ingest pipeline: fetched items -> normalised, deduplicated, classified documents.

One file per stage: crawlers.prepare (an item's id, verbatim text and date), crawlers.labelling
(the inline baseline labels), crawlers.locality (the provinces and communes it is about),
crawlers.store (new, updated or unchanged documents, in stories by crawlers.dedupe); this
module runs them in short write batches and queues the follow-up tasks (indexing, alert
evaluation, the trained model) by name.
Ids come from the canonical URL (crawlers.identity), so a re-crawl updates a document and
never duplicates it. Text is stored as published (NFC, no control characters); tone-mark
placement, case and accents are folded only in match keys and the search index (core.text)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from classifier.base import Classifier
from core.celery_app import (
    CLASSIFY_DOCUMENT,
    CLASSIFY_DOCUMENTS,
    EVALUATE_DOCUMENTS,
    INDEX_DOCUMENTS,
    send_task_safely,
)
from core.geo.choice import province_code
from core.models import Document, Source, utcnow
from core.settings import get_settings
from crawlers.classify import model_enabled
from crawlers.connectors.base import FetchedItem
from crawlers.labelling import (
    default_classifier,
    joined_text,
    predict_texts,
    store_labels,
)
from crawlers.locality import locate_texts, store_places
from crawlers.prepare import Prepared, prepare
from crawlers.revisions import treat
from crawlers.store import incoming, load_existing, upsert_safely
from crawlers.story_index import prune_bands

log = logging.getLogger(__name__)

# Items written per transaction: a long crawl never holds the SQLite writer lock for long,
# and one failed commit costs at most this many items.
BATCH_SIZE = 25
# A write transaction of ingest commits once it has held the lock this long.
WRITE_SLICE_S = 0.1
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
    own = province_code(session, get_settings().province)
    batch_list = list(prepared.values())
    touched: list[Document] = []
    unlabelled: list[Document] = []
    for start in range(0, len(batch_list), BATCH_SIZE):
        done, left = _ingest_batch(
            session, source, batch_list[start : start + BATCH_SIZE], now, classifier, stats, own
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
    own: str | None = None,
) -> tuple[list[Document], list[Document]]:
    """Write one batch in its own transaction; (touched, left unlabelled).

    The classifier runs between a short read and the write, so the writer lock (SQLite
    takes it at the first write, core/db_lock.py) is never held while a model computes."""
    existing = load_existing(session, [p.doc_id for p in batch])
    to_label = [
        p
        for p in batch
        if (doc := existing.get(p.doc_id)) is None or treat(doc, incoming(p)).action != "unchanged"
    ]
    session.commit()
    texts = {p.doc_id: joined_text(p.title, p.lead, p.body) for p in to_label}
    labels = predict_texts(classifier, texts)
    places = locate_texts(texts, own)
    # Looked up again inside the write: another worker may have written meanwhile.
    existing = load_existing(session, [p.doc_id for p in batch], fresh=True)
    touched: list[Document] = []
    unlabelled: list[Document] = []
    slice_start = time.monotonic()
    for p in batch:
        try:
            outcome, doc = upsert_safely(session, source, p, existing.get(p.doc_id), now)
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
        store_places(session, doc, places.get(doc.id))
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
