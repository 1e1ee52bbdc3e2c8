"""The tipline: posts that staff and the public forward (Zalo, Facebook groups) become documents
of one "tipline" source, classified and indexed like crawled items. The same post forwarded
twice is one document that records every submission."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classifier.base import Classifier
from core.db import DatabaseBusy
from core.models import Document, Source, SourceKind, utcnow
from core.settings import Settings
from core.text import clean, normalize
from crawlers.connectors.base import FetchedItem
from crawlers.connectors.social import headline
from crawlers.identity import canonical_url, document_id
from crawlers.pipeline import ingest
from crawlers.prepare import MAX_URL

TIPLINE_SOURCE_NAME = "Đường dây nóng (tipline)"
Channel = Literal["zalo", "facebook_group", "other"]
CHANNELS: tuple[str, ...] = get_args(Channel)
MAX_TEXT = 20_000
MAX_SUBMITTED_BY = 200
# Between the forwarded text and the text read off its screenshot, in the document body.
# How ingest reports an item it could not write because the write lock stayed taken.
LOCKED = "database is locked"
SCREENSHOT_SEPARATOR = "\n\n--- Chữ trong ảnh chụp màn hình ---\n"


class TipError(ValueError):
    """A tip that cannot be accepted; the message is Vietnamese, fit to show the sender."""


def tipline_source(session: Session) -> Source:
    """The tipline's Source, created on first use (not polled: it has nothing to fetch)."""
    source = session.scalar(select(Source).where(Source.name == TIPLINE_SOURCE_NAME))
    if source is not None:
        return source
    try:
        # The first tips often come in a burst: one creates the source, the others find it.
        with session.begin_nested():
            source = Source(
                name=TIPLINE_SOURCE_NAME,
                kind=SourceKind.tipline.value,
                url="tipline:",
                scope="social",
                enabled=False,
                health="ok",
            )
            session.add(source)
    except IntegrityError:
        source = session.scalar(select(Source).where(Source.name == TIPLINE_SOURCE_NAME))
        if source is None:  # pragma: no cover - the conflicting row is committed by now
            raise
    return source


def text_fingerprint(text: str) -> str:
    """sha256 of the text with case, spacing and tone-mark placement evened out, so a post
    forwarded again (re-wrapped, re-capitalised) gets the same fingerprint."""
    even = " ".join(normalize(text).casefold().split())
    return hashlib.sha256(even.encode("utf-8")).hexdigest()


def _checked(
    text: str, url: str | None, screenshot_text: str | None, submitted_by: str, channel: str
) -> tuple[str, str | None, str, str]:
    """Validated (text, canonical URL, screenshot text, submitter); TipError otherwise."""
    text = clean(text or "")
    if not text:
        raise TipError("Nội dung tin báo không được để trống.")
    if len(text) > MAX_TEXT:
        raise TipError(f"Nội dung tin báo dài quá {MAX_TEXT:,} ký tự.".replace(",", "."))
    screenshot = clean(screenshot_text or "")
    if len(screenshot) > MAX_TEXT:
        raise TipError(f"Chữ trong ảnh chụp dài quá {MAX_TEXT:,} ký tự.".replace(",", "."))
    who = clean(submitted_by or "")
    if not who:
        raise TipError("Cần ghi rõ người gửi tin báo.")
    if len(who) > MAX_SUBMITTED_BY:
        raise TipError(f"Tên người gửi dài quá {MAX_SUBMITTED_BY} ký tự.")
    if channel not in CHANNELS:
        raise TipError("Kênh nhận tin không hợp lệ (zalo, facebook_group hoặc other).")
    canon = None
    if url is not None and url.strip():
        try:
            canon = canonical_url(url.strip())
        except ValueError:
            canon = None
        if canon is None or len(url.strip()) > MAX_URL:
            raise TipError(
                "Đường dẫn không hợp lệ: cần một địa chỉ web đầy đủ bắt đầu bằng http:// "
                "hoặc https://."
            )
    return text, canon, screenshot, who


def submission_id(entered_by: str | None, idempotency_key: str | None) -> str:
    """The id of one submission: from the client's idempotency key (per staff account) when
    it sent one, so a retried request finds its own submission instead of adding another."""
    if not idempotency_key:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tip:{entered_by or ''}:{idempotency_key}"))


def has_submission(doc: Document | None, sub_id: str) -> bool:
    """True when `doc` already records the submission `sub_id` (a replayed request)."""
    return doc is not None and any(
        s.get("id") == sub_id for s in (doc.meta or {}).get("submissions") or []
    )


def store_with_document(
    session: Session, doc_id: str, extra: Callable[[Session, Document], None]
) -> Callable[[], None]:
    """Have `extra(session, doc)` add its rows (the audit row) in the very flush that writes
    the tip's document, so both commit in one transaction or neither does, while ingest keeps
    the write lock only for its own short write. Returns the function that removes the hook."""
    fired = False

    def before_flush(sess: Session, _ctx: Any, _instances: Any) -> None:
        nonlocal fired
        if fired:
            return
        for obj in (*sess.new, *sess.dirty):
            if isinstance(obj, Document) and obj.id == doc_id:
                fired = True
                extra(sess, obj)
                return

    event.listen(session, "before_flush", before_flush)
    return lambda: event.remove(session, "before_flush", before_flush)


def _submission(
    who: str, channel: str, at: datetime, text: str, screenshot: str, entered_by: str | None,
    sub_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    record: dict[str, Any] = {
        "id": sub_id or str(uuid.uuid4()),
        "submitted_by": who,
        "channel": channel,
        "submitted_at": at.isoformat(),
        "text_sha256": text_fingerprint(text),
    }
    if entered_by:
        record["entered_by"] = entered_by
    if screenshot:
        record["screenshot_text"] = screenshot
    return record


def _record(doc: Document, record: dict[str, Any], text: str) -> None:
    """Add a submission to an existing document's meta (a new dict: JSON columns only see
    assignment)."""
    meta = dict(doc.meta or {})
    submissions = list(meta.get("submissions") or [])
    if any(s.get("id") == record["id"] for s in submissions):
        return
    if record["text_sha256"] != text_fingerprint(doc.body or ""):
        # A link forwarded with other words around it: keep what this sender wrote.
        record = {**record, "text": text}
    submissions.append(record)
    meta["submissions"] = submissions
    doc.meta = meta
    doc.updated_at = utcnow()


def is_duplicate(doc: Document) -> bool:
    """True when the document had been submitted (or crawled) before the latest submission."""
    meta = doc.meta or {}
    return len(meta.get("submissions") or []) > 1 or meta.get("submitted_by") is None


def submit_tip(session: Session, **kwargs: Any) -> Document:
    """Store a forwarded post as a "tip" document (or add this submission to the one already
    there) and commit; raises TipError with a Vietnamese message on bad input (record_tip's
    arguments)."""
    return record_tip(session, **kwargs)[0]


def record_tip(
    session: Session,
    *,
    text: str,
    url: str | None = None,
    screenshot_text: str | None = None,
    submitted_by: str,
    channel: str = "zalo",
    settings: Settings,
    entered_by: str | None = None,
    classifier: Classifier | None = None,
    sub_id: str | None = None,
    on_store: Callable[[Session, Document], None] | None = None,
) -> tuple[Document, bool]:
    """submit_tip, also saying whether this was a replay of a submission already stored.

    `submitted_by` is who sent the tip; `entered_by` the staff account that recorded it;
    `sub_id` the submission's id (submission_id), which makes a replay add nothing;
    `on_store(session, doc)` adds rows that must commit with the tip (store_with_document)."""
    text, canon, screenshot, who = _checked(text, url, screenshot_text, submitted_by, channel)
    source = tipline_source(session)
    doc_id = (
        document_id(canon)
        if canon
        else document_id(source_id=source.id, native_id=text_fingerprint(text))
    )
    unhook = store_with_document(session, doc_id, on_store) if on_store else None
    try:
        return _store(
            session,
            source,
            doc_id,
            text,
            canon,
            url,
            screenshot,
            who,
            channel,
            entered_by,
            classifier,
            sub_id,
        )
    finally:
        if unhook is not None:
            unhook()


def _store(
    session: Session, source: Source, doc_id: str, text: str, canon: str | None,
    url: str | None, screenshot: str, who: str, channel: str, entered_by: str | None,
    classifier: Classifier | None, sub_id: str | None,
) -> tuple[Document, bool]:  # fmt: skip
    now = utcnow()
    record = _submission(who, channel, now, text, screenshot, entered_by, sub_id)
    existing = session.get(Document, doc_id)
    if existing is not None and has_submission(existing, record["id"]):
        return existing, True
    if existing is not None:
        # Already known (a repeat tip, or an article we crawled): keep its text, note the tip.
        _record(existing, record, text)
        session.commit()
        return existing, False
    body = text + (SCREENSHOT_SEPARATOR + screenshot if screenshot else "")
    meta: dict[str, Any] = {
        "submitted_by": who,
        "channel": channel,
        "submissions": [record],
    }
    if screenshot:
        meta["screenshot_text"] = screenshot
    item = FetchedItem(
        url=url.strip() if canon and url else None,
        title=headline(text),
        body=body,
        author=None,
        published_at=now,
        native_id=None if canon else text_fingerprint(text),
        kind="tip",
        meta=meta,
    )
    stats = ingest(session, source, [item], classifier=classifier)
    if stats.errors:
        session.rollback()
        if any(LOCKED in m for m in stats.error_messages):
            # Not the tip's fault: the caller waits and retries, or answers 503 (not 400).
            raise DatabaseBusy("ingest", None, sqlite3.OperationalError(LOCKED))
        raise TipError("Không lưu được tin báo: " + "; ".join(stats.error_messages))
    doc = session.get(Document, doc_id)
    if doc is None:  # pragma: no cover - ingest stored it or reported an error above
        raise TipError("Không lưu được tin báo.")
    if not any(s.get("id") == record["id"] for s in (doc.meta or {}).get("submissions") or []):
        # Another submission of the same post won the race; add ours to it.
        _record(doc, record, text)
        session.commit()
    return doc, False
