"""The ingest pipeline: fetched items -> normalised, deduplicated, classified documents.

Ids come from the canonical URL, so a re-crawl updates a document and never duplicates it."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from classifier.baseline import BaselineClassifier, Prediction
from core.celery_app import app as celery_app
from core.models import Classification, Document, Source, Story, utcnow
from core.text import clean, normalize
from crawlers.connectors.base import FetchedItem

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
    """sha256 of the normalised text; equal hashes mean nothing worth re-indexing changed."""
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
    published_at: datetime | None
    content_hash: str
    item: FetchedItem


def _prepare(source: Source, item: FetchedItem) -> _Prepared:
    url = item.url.strip() if item.url else None
    canon = canonical_url(url) if url else None
    if canon and len(canon) > MAX_URL:
        raise ValueError(f"URL longer than {MAX_URL} characters")
    native = clean(str(item.native_id))[:MAX_NATIVE_ID] if item.native_id else ""
    title, lead, body = normalize(item.title), normalize(item.lead), normalize(item.body)
    if not (title or lead or body):
        raise ValueError("item has no text")
    if item.published_at is not None and item.published_at.tzinfo is None:
        raise ValueError("published_at must be timezone-aware")
    return _Prepared(
        doc_id=document_id(canon, source.id, native or None),
        url=url[:MAX_URL] if url else None,
        canonical_url=canon,
        native_id=native or None,
        title=title,
        lead=lead,
        body=body,
        author=normalize(item.author)[:MAX_AUTHOR] or None,
        published_at=item.published_at,
        content_hash=content_hash(title, lead, body),
        item=item,
    )


def _create(session: Session, source: Source, p: _Prepared, now: datetime) -> Document:
    # One story per document for now; near-duplicate clustering joins them later.
    story = Story(
        title=p.title or p.lead[:300],
        first_seen_at=now,
        last_seen_at=now,
        doc_count=1,
        outlet_count=1,
    )
    doc = Document(
        id=p.doc_id,
        source_id=source.id,
        story=story,
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
        meta=dict(p.item.meta),
        indexed_at=None,
    )
    session.add(doc)
    return doc


def _update(doc: Document, p: _Prepared, now: datetime) -> None:
    doc.url = p.url or doc.url
    doc.title, doc.lead, doc.body = p.title, p.lead, p.body
    doc.author = p.author or doc.author
    doc.published_at = p.published_at or doc.published_at
    doc.content_hash = p.content_hash
    doc.meta = dict(p.item.meta)
    doc.updated_at = now
    # Null marks it for the indexer, which then indexes the new text.
    doc.indexed_at = None
    doc.index_error = None
    _refresh_engagement(doc, p.item)
    if doc.story is not None:
        doc.story.last_seen_at = now
        if doc.story.doc_count <= 1:
            doc.story.title = p.title or doc.story.title


def _refresh_engagement(doc: Document, item: FetchedItem) -> None:
    # Counts move on every poll of a social post; they are not indexed, so they change
    # neither updated_at nor the index state.
    for name in ("likes", "shares", "comments"):
        value = getattr(item, name)
        if value is not None and getattr(doc, name) != value:
            setattr(doc, name, value)


def _load_existing(session: Session, ids: Sequence[str]) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        stmt = (
            select(Document)
            .where(Document.id.in_(chunk))
            .options(selectinload(Document.classifications), selectinload(Document.story))
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


def _classify(session: Session, docs: list[Document], classifier: Classifier) -> None:
    try:
        predictions = classifier.predict([classification_text(d) for d in docs])
    except Exception:
        # The documents are still worth keeping and searching without labels.
        log.exception("classifier %s failed on %d documents", classifier.model_version, len(docs))
        return
    now = utcnow()
    for doc, pred in zip(docs, predictions, strict=True):
        try:
            with session.begin_nested():
                store_prediction(doc, pred, now)
        except Exception:
            log.exception("storing classification of document %s failed", doc.id)


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


def ingest(
    session: Session,
    source: Source,
    items: Iterable[FetchedItem],
    *,
    classifier: Classifier | None = None,
) -> IngestStats:
    """Upsert items as documents of `source`, classify new/changed ones, commit, and ask for
    indexing. One bad item is counted and logged; it never costs the others."""
    stats = IngestStats()
    now = utcnow()
    prepared: dict[str, _Prepared] = {}
    for item in items:
        stats.seen += 1
        try:
            p = _prepare(source, item)
        except Exception as exc:
            _item_error(stats, source, item, exc)
            continue
        if p.doc_id in prepared:  # the same article twice in one batch
            stats.unchanged += 1
            continue
        prepared[p.doc_id] = p

    existing = _load_existing(session, list(prepared))
    touched: list[Document] = []
    for p in prepared.values():
        doc = existing.get(p.doc_id)
        try:
            # A savepoint per item: a row the database rejects rolls back alone.
            with session.begin_nested():
                if doc is None:
                    doc = _create(session, source, p, now)
                    outcome = "new"
                elif doc.content_hash == p.content_hash:
                    _refresh_engagement(doc, p.item)
                    outcome = "unchanged"
                else:
                    _update(doc, p, now)
                    outcome = "updated"
        except Exception as exc:
            _item_error(stats, source, p.item, exc)
            continue
        if outcome == "unchanged":
            stats.unchanged += 1
            continue
        setattr(stats, outcome, getattr(stats, outcome) + 1)
        touched.append(doc)

    if touched:
        _classify(session, touched, classifier or default_classifier())
    session.commit()
    if touched:
        send_task_safely("index_documents")
    return stats


def _item_error(stats: IngestStats, source: Source, item: FetchedItem, exc: Exception) -> None:
    stats.errors += 1
    message = f"{item.url or item.native_id or '?'}: {type(exc).__name__}: {exc}"
    stats.error_messages.append(message[:500])
    log.warning("skipping item from source %s: %s", source.id, message)
