"""The ingest pipeline: fetched items -> normalised, deduplicated, classified documents.

Ids come from the canonical URL, so a re-crawl updates a document and never duplicates it;
near-duplicates from other URLs and outlets join one story (crawlers.dedupe). How an item for
a stored document is applied (kept, completed, edited) is decided in crawlers.revisions.
Text is stored as published (NFC, no control characters); tone-mark placement, case and
accents are folded only in match keys and the search index (core.text)."""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from classifier.baseline import BaselineClassifier, Prediction
from core.celery_app import app as celery_app
from core.models import Classification, Document, Source, utcnow
from core.text import clean
from crawlers.connectors.base import FetchedItem
from crawlers.dedupe import attach, fingerprint, prune_bands, reattach, refresh_story
from crawlers.encoding import detect_legacy, legacy_to_unicode
from crawlers.revisions import Incoming, Treatment, keep_revision, sync_quiet_meta, treat

log = logging.getLogger(__name__)

# Click and campaign trackers: they make one article look like many.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        # Zalo appends these to every shared link.
        "zarsrc", "gidzl",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_",)
MOBILE_HOST_PREFIXES = ("m.", "mobile.", "amp.")
DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_PATH_RE = re.compile(r"(?:/amp/?|\.amp)$", re.IGNORECASE)
# Column limits of the documents table (PostgreSQL enforces them, SQLite does not).
MAX_URL = 2000
MAX_NATIVE_ID = 300
MAX_AUTHOR = 300
_LOOKUP_CHUNK = 500
# Items written per transaction: a long crawl never holds the SQLite writer lock for long,
# and one failed commit costs at most this many items.
BATCH_SIZE = 50
# Meta keys written by people rather than the crawler (crawlers.tipline): never dropped.
PRESERVED_META = ("submissions", "submitted_by")
# Sources run a few hours ahead (wrong zone) now and then; beyond a day the date is wrong.
MAX_FUTURE = timedelta(days=1)
# Story bands of long-quiet stories are pruned at most this often per process.
PRUNE_EVERY_S = 3600.0
_last_prune = float("-inf")
# Alert evaluation by task name (architecture: the pipeline hands over to alerts by name).
# alerts/tasks.py registers `evaluate_documents`; the pipeline only knows its name, so the
# two layers stay apart (architecture.md).
ALERTS_TASK_ENABLED = True


def canonical_url(url: str) -> str:
    """The one spelling of an article URL: trackers, fragments, AMP/mobile variants removed."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    port = parts.port  # raises ValueError on a malformed port
    for prefix in MOBILE_HOST_PREFIXES:
        # 'm.vn' is a domain of its own; only strip a prefix in front of a real domain.
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"

    path = _AMP_PATH_RE.sub("", parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"

    params = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS
        and not k.lower().startswith(TRACKING_PREFIXES)
        and not (k.lower() == "amp" and v.lower() in ("", "1", "true"))
    ]
    query = urlencode(sorted(params))
    return urlunsplit((scheme, netloc, path, query, ""))


def document_id(
    canonical_url: str | None = None,
    source_id: int | None = None,
    native_id: str | None = None,
) -> str:
    """uuid5 of the canonical URL, or of 'source_id:native_id' for items without a URL."""
    if canonical_url:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, canonical_url))
    if source_id is not None and native_id:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source_id}:{native_id}"))
    raise ValueError("an item needs a URL or a native id")


def content_hash(title: str, lead: str, body: str) -> str:
    """sha256 of the stored text; equal hashes mean nothing worth re-indexing changed."""
    return hashlib.sha256("\x1f".join((title, lead, body)).encode("utf-8")).hexdigest()


class Classifier(Protocol):
    """What the pipeline needs of a classifier (the baseline now, the trained model later)."""

    model_version: str

    def predict(self, texts: list[str]) -> list[Prediction]: ...


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


@dataclass
class _Prepared:
    doc_id: str
    url: str | None
    canonical_url: str | None
    native_id: str | None
    title: str
    lead: str
    body: str
    author: str | None
    published_at: datetime
    # True when the source gave no usable date and the fetch time stands in.
    date_from_fetch: bool
    content_hash: str
    meta: dict[str, Any]
    item: FetchedItem


def _repair_encoding(item: FetchedItem) -> tuple[list[Any], str | None]:
    """The text fields, converted where they read as TCVN3/VNI mojibake (a last resort:
    connectors decode legacy pages already). Runs before normalising: clean() would drop
    TCVN3's soft hyphen, which is the letter ư."""
    fields = [item.title, item.lead, item.body, item.author]
    texts = [f for f in fields if isinstance(f, str)]
    # Pooled first, so short fields share the evidence; then field by field, for a legacy
    # field beside Unicode ones (a TCVN3 body under a Unicode <title>).
    pooled = detect_legacy("\n".join(texts))
    found = (
        [pooled] * len(fields)
        if pooled
        else [detect_legacy(f) if isinstance(f, str) else None for f in fields]
    )
    if not any(found):
        return fields, None
    repaired = [
        legacy_to_unicode(f, enc) if enc and isinstance(f, str) else f
        for f, enc in zip(fields, found, strict=True)
    ]
    return repaired, next(enc for enc in found if enc)


def _publish_time(item: FetchedItem, now: datetime, meta: dict[str, Any]) -> tuple[datetime, bool]:
    if item.published_at is None:
        meta["published_at_from"] = "fetched_at"
        return now, True
    if item.published_at.tzinfo is None:
        raise ValueError("published_at must be timezone-aware")
    if item.published_at > now + MAX_FUTURE:
        meta["published_at_note"] = (
            f"date {item.published_at.isoformat()} is in the future; replaced by fetch time"
        )
        return now, True
    return item.published_at, False


def _prepare(source: Source, item: FetchedItem, now: datetime) -> _Prepared:
    url = item.url.strip() if item.url else None
    # The page's own canonical URL (RSS items whose page was read) names the document, so
    # a feed item and a site crawl of one article are one document.
    canon = canonical_url(item.canonical_url or url) if (item.canonical_url or url) else None
    if canon and len(canon) > MAX_URL:
        raise ValueError(f"URL longer than {MAX_URL} characters")
    native = clean(str(item.native_id))[:MAX_NATIVE_ID] if item.native_id else ""
    (raw_title, raw_lead, raw_body, raw_author), legacy = _repair_encoding(item)
    # Verbatim: "Thanh Hóa" stays "Thanh Hóa" and "Thanh Hoá" stays "Thanh Hoá".
    title, lead, body = clean(raw_title), clean(raw_lead), clean(raw_body)
    if not (title or lead or body):
        raise ValueError("item has no text")
    meta = dict(item.meta)
    if legacy:
        meta["text_repaired_from"] = legacy
    published_at, date_from_fetch = _publish_time(item, now, meta)
    return _Prepared(
        doc_id=document_id(canon, source.id, native or None),
        url=url[:MAX_URL] if url else None,
        canonical_url=canon,
        native_id=native or None,
        title=title,
        lead=lead,
        body=body,
        author=clean(raw_author)[:MAX_AUTHOR] or None,
        published_at=published_at,
        date_from_fetch=date_from_fetch,
        content_hash=content_hash(title, lead, body),
        meta=meta,
        item=item,
    )


def _create(session: Session, source: Source, p: _Prepared, now: datetime) -> tuple[Document, bool]:
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
    )
    session.add(doc)
    joined = attach(session, doc, fingerprint(p.title, p.lead, p.body))
    return doc, joined


def _update(
    session: Session, doc: Document, p: _Prepared, now: datetime, treatment: Treatment
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


def classification_text(doc: Document) -> str:
    """The text a classifier sees for a document."""
    return "\n".join(part for part in (doc.title, doc.lead, doc.body) if part)


def store_prediction(doc: Document, pred: Prediction, now: datetime | None = None) -> None:
    """Write `pred` as the document's classification for its model version (replacing)."""
    row = next((c for c in doc.classifications if c.model_version == pred.model_version), None)
    if row is None:
        row = Classification(model_version=pred.model_version)
        doc.classifications.append(row)
    row.relevance = pred.relevance
    row.topics = list(pred.topics)
    row.topic_scores = dict(pred.topic_scores)
    row.sentiment, row.sentiment_score = pred.sentiment, pred.sentiment_score
    row.risk, row.risk_score = pred.risk, pred.risk_score
    row.toxicity, row.misinformation = pred.toxicity, pred.misinformation
    row.created_at = now or utcnow()


def _predict(classifier: Classifier, batch: list[_Prepared]) -> dict[str, Prediction]:
    """Labels of `batch` by document id, computed outside any write transaction; empty when
    the classifier fails (the documents are still worth keeping and searching)."""
    if not batch:
        return {}
    texts = ["\n".join(part for part in (p.title, p.lead, p.body) if part) for p in batch]
    try:
        predictions = classifier.predict(texts)
    except Exception:
        log.exception("classifier %s failed on %d documents", classifier.model_version, len(batch))
        return {}
    return {p.doc_id: pred for p, pred in zip(batch, predictions, strict=True)}


def _store_labels(
    session: Session, docs: list[Document], labels: dict[str, Prediction]
) -> list[Document]:
    """Write the precomputed labels; returns the documents left unlabelled."""
    now = utcnow()
    unlabelled = []
    for doc in docs:
        pred = labels.get(doc.id)
        if pred is None:
            unlabelled.append(doc)
            continue
        try:
            with session.begin_nested():
                store_prediction(doc, pred, now)
        except Exception:
            log.exception("storing classification of document %s failed", doc.id)
    return unlabelled


_default_classifier: Classifier | None = None


def default_classifier() -> Classifier:
    """The classifier used when none is given (the keyword baseline for now)."""
    global _default_classifier
    if _default_classifier is None:
        _default_classifier = BaselineClassifier()
    return _default_classifier


def send_task_safely(name: str, args: Iterable[Any] = ()) -> bool:
    """Queue a Celery task by name; log, never raise, when the broker is unavailable."""
    try:
        if celery_app.conf.task_always_eager:
            # send_task ignores eager mode; run the registered task in-process instead.
            task = celery_app.tasks.get(name)
            if task is not None:
                task.apply(args=list(args))
                return True
        celery_app.send_task(name, args=list(args))
        return True
    except Exception:
        log.warning("could not queue task %s; the beat will catch up", name, exc_info=True)
        return False


def _incoming(p: _Prepared) -> Incoming:
    return Incoming(p.title, p.lead, p.body, p.content_hash, p.meta)


def _upsert(
    session: Session, source: Source, p: _Prepared, doc: Document | None, now: datetime
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
    session: Session, source: Source, p: _Prepared, doc: Document | None, now: datetime
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
    prepared: dict[str, _Prepared] = {}
    for item in items:
        stats.seen += 1
        try:
            p = _prepare(source, item, now)
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
        send_task_safely("classify_document", args=[doc.id])
    if touched:
        send_task_safely("index_documents")
        if ALERTS_TASK_ENABLED:
            # One batch per ingest call: one transaction, each story scored once.
            send_task_safely("evaluate_documents", args=[[doc.id for doc in touched]])
        _queue_model([doc.id for doc in touched])
    return stats


def _ingest_batch(
    session: Session,
    source: Source,
    batch: list[_Prepared],
    now: datetime,
    classifier: Classifier,
    stats: IngestStats,
) -> tuple[list[Document], list[Document]]:
    """Write one batch in its own transaction; (touched, left unlabelled).

    The classifier runs between a short read and the write, so the writer lock (SQLite
    takes it at BEGIN) is never held while a model computes."""
    existing = _load_existing(session, [p.doc_id for p in batch])
    to_label = [
        p
        for p in batch
        if (doc := existing.get(p.doc_id)) is None or treat(doc, _incoming(p)).action != "unchanged"
    ]
    session.commit()
    labels = _predict(classifier, to_label)
    # Looked up again inside the write: another worker may have written meanwhile.
    existing = _load_existing(session, [p.doc_id for p in batch], fresh=True)
    touched: list[Document] = []
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
    unlabelled = _store_labels(session, touched, labels)
    session.commit()
    return touched, unlabelled


def _queue_model(doc_ids: list[str]) -> None:
    # Imported here: crawlers.classify imports this module (and registers the task).
    from core.settings import get_settings
    from crawlers.classify import model_enabled

    # One task for the whole ingest call, so the worker classifies in full batches.
    if model_enabled(get_settings()):
        send_task_safely("classify_documents", args=[doc_ids])


def _item_error(stats: IngestStats, source: Source, item: FetchedItem, exc: Exception) -> None:
    stats.errors += 1
    message = f"{item.url or item.native_id or '?'}: {type(exc).__name__}: {exc}"
    stats.error_messages.append(message[:500])
    log.warning("skipping item from source %s: %s", source.id, message)
