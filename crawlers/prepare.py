"""One fetched item made ready to store: its id, its text as published, its date.

Text is kept verbatim (NFC, no control characters, tidy whitespace): "Thanh Hóa" and
"Thanh Hoá" are stored as the outlet wrote them; match keys and the search index fold them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.models import Source
from core.text import clean
from crawlers.connectors.base import FetchedItem
from crawlers.dates import MAX_FUTURE
from crawlers.encoding import detect_legacy, legacy_to_unicode
from crawlers.identity import canonical_url, content_hash, document_id

# Column limits of the documents table (PostgreSQL enforces them, SQLite does not).
MAX_URL = 2000
MAX_NATIVE_ID = 300
MAX_AUTHOR = 300


@dataclass
class Prepared:
    """An item ready to store: its id, verbatim text, date and meta."""

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


def _page_canonical(url: str | None) -> str | None:
    """The page's canonical URL when it is usable; a broken one falls back to the item URL
    rather than costing the item."""
    try:
        canon = canonical_url(url) if url else None
    except ValueError:
        return None
    return canon if canon and len(canon) <= MAX_URL else None


def prepare(source: Source, item: FetchedItem, now: datetime) -> Prepared:
    """One item checked and cleaned for storage; raises ValueError when it cannot be stored."""
    url = item.url.strip() if item.url else None
    # The page's own canonical URL (RSS items whose page was read) names the document, so
    # a feed item and a site crawl of one article are one document.
    canon = _page_canonical(item.canonical_url) or (canonical_url(url) if url else None)
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
    return Prepared(
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
