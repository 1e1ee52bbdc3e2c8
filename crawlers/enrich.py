"""Completing feed items that carry only a summary: fetch the article page and extract it.

A page is fetched for a new item, for a stored item whose feed entry changed (the outlet may
have edited the article), and again for one whose page did not answer last time. An item
whose feed entry is unchanged is not fetched, so a feed that repeats its last 50 items costs
one fetch per new item; crawlers.revisions keeps the stored page text for it."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document, Source, utcnow
from core.settings import Settings
from crawlers.connectors.base import CrawlOutput, FetchedItem
from crawlers.encoding import charset_from_content_type
from crawlers.extract import ExtractionError, extract_article
from crawlers.http import FetchError, fetch
from crawlers.identity import canonical_url, document_id
from crawlers.revisions import FEED_HASH, ORIGIN_PAGE, PAGE_PENDING, PAGE_UNAVAILABLE, RETRY_KEYS

log = logging.getLogger(__name__)

# A feed body shorter than this is a teaser, not the article.
MIN_BODY_CHARS = 400
DEFAULT_MAX_PAGES = 30
# Answers that say the article itself is gone (rather than the server being unwell).
GONE_STATUSES = frozenset({404, 410})


def needs_page(item: FetchedItem) -> bool:
    """True when the feed gave only a summary of an article that has a web page."""
    return bool(item.url) and len(item.body or "") < MIN_BODY_CHARS


def _feed_id(item: FetchedItem) -> str | None:
    try:
        return document_id(canonical_url(item.url or ""))
    except ValueError:
        return None


def _stored_meta(session: Session, items: list[FetchedItem]) -> dict[str, dict[str, Any]]:
    """Meta of the stored documents of `items`, by the id their feed link gives.

    A document named by a canonical URL its feed link does not reduce to is not found this
    way; its page is read again and the pipeline finds it by that canonical (one fetch, no
    duplicate): documents.url has no index, and a scan per poll would cost more."""
    ids = {i for i in map(_feed_id, items) if i}
    if not ids:
        return {}
    rows = session.execute(select(Document.id, Document.meta).where(Document.id.in_(ids)))
    return {doc_id: meta or {} for doc_id, meta in rows}


def _lookup(stored: dict[str, dict[str, Any]], item: FetchedItem) -> dict[str, Any] | None:
    doc_id = _feed_id(item)
    return stored.get(doc_id) if doc_id else None


def page_wanted(item: FetchedItem, stored: dict[str, Any] | None) -> bool:
    """Whether to read the page of a summary item, given its stored document's meta."""
    if stored is None or any(stored.get(key) for key in RETRY_KEYS):
        return True
    return stored.get(FEED_HASH) != item.meta.get(FEED_HASH)


def enrich_from_pages(
    session: Session, source: Source, output: CrawlOutput, settings: Settings
) -> int:
    """Fill the body (and missing author/date) of summary-only items from their pages.

    A page that cannot be read leaves its item as the feed gave it (text and date), flagged
    in meta["page_unavailable"] so a later poll tries again; returns how many items were
    completed."""
    if not (source.config or {}).get("fetch_pages", True):
        return 0
    wanted = [i for i, item in enumerate(output.items) if needs_page(item)]
    stored = _stored_meta(session, [output.items[i] for i in wanted])
    # End the read: the fetches below take seconds and a writer lock must not wait on them.
    session.commit()
    todo = [i for i in wanted if page_wanted(output.items[i], _lookup(stored, output.items[i]))]
    # New articles first; retries of pages that were missing take what is left.
    todo.sort(key=lambda i: _lookup(stored, output.items[i]) is not None)
    limit = int((source.config or {}).get("max_pages", DEFAULT_MAX_PAGES))
    done = 0
    for i in todo[limit:]:
        # Marked, so a later poll reads these pages even though their feed entry is unchanged.
        item = output.items[i]
        output.items[i] = replace(item, meta={**item.meta, PAGE_PENDING: True})
    if len(todo) > limit:
        output.errors.append(
            f"{limit} article pages fetched; {len(todo) - limit} wait for the next poll"
        )
    for i in todo[:limit]:
        output.items[i], ok = _read_page(output.items[i], settings, output.errors)
        done += ok
    return done


def _read_page(
    item: FetchedItem, settings: Settings, errors: list[str]
) -> tuple[FetchedItem, bool]:
    """The item completed from its page, or flagged when the page did not answer."""
    try:
        page = fetch(item.url or "", settings=settings)
        article = extract_article(
            page.content,
            url=page.url,
            now=utcnow(),
            encoding=charset_from_content_type(page.content_type),
        )
    except (FetchError, ExtractionError) as exc:
        errors.append(f"article page {item.url}: {exc}")
        status = exc.status if isinstance(exc, FetchError) else None
        flag = {
            "status": status,
            "gone": status in GONE_STATUSES,
            "checked_at": utcnow().isoformat(),
            "error": str(exc)[:300],
        }
        return replace(item, meta={**item.meta, PAGE_UNAVAILABLE: flag}), False
    return (
        replace(
            item,
            title=item.title or article.title,
            body=article.body or item.body,
            lead=item.lead or article.lead,
            author=item.author or article.author,
            published_at=item.published_at or article.published_at,
            # The page's canonical names the document (site crawls use it too).
            canonical_url=article.canonical_url,
            meta={**item.meta, "body_from": ORIGIN_PAGE},
        ),
        True,
    )
