"""Completing feed items that carry only a summary: fetch the article page and extract it.

Only items not yet in the database are fetched, so a feed that repeats its last 50 items
costs one article fetch per new item, not 50 per poll."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document, Source, utcnow
from core.settings import Settings
from crawlers.connectors.base import CrawlOutput, FetchedItem
from crawlers.encoding import charset_from_content_type
from crawlers.extract import ExtractionError, extract_article
from crawlers.http import FetchError, fetch
from crawlers.pipeline import canonical_url, document_id

log = logging.getLogger(__name__)

# A feed body shorter than this is a teaser, not the article.
MIN_BODY_CHARS = 400
DEFAULT_MAX_PAGES = 30


def needs_page(item: FetchedItem) -> bool:
    """True when the feed gave only a summary of an article that has a web page."""
    return bool(item.url) and len(item.body or "") < MIN_BODY_CHARS


def _known_ids(session: Session, items: list[FetchedItem]) -> set[str]:
    ids = []
    for item in items:
        try:
            ids.append(document_id(canonical_url(item.url or "")))
        except ValueError:
            continue
    if not ids:
        return set()
    return set(session.scalars(select(Document.id).where(Document.id.in_(ids))))


def enrich_from_pages(
    session: Session, source: Source, output: CrawlOutput, settings: Settings
) -> int:
    """Fill the body (and missing author/date) of new summary-only items from their pages.

    A page that cannot be fetched or read leaves its item as the feed gave it, with the
    problem listed in `output.errors`; returns how many items were completed."""
    if not (source.config or {}).get("fetch_pages", True):
        return 0
    wanted = [i for i, item in enumerate(output.items) if needs_page(item)]
    known = _known_ids(session, [output.items[i] for i in wanted])
    # End the read: the fetches below take seconds and a writer lock must not wait on them.
    session.commit()
    limit = int((source.config or {}).get("max_pages", DEFAULT_MAX_PAGES))
    done = 0
    for i in wanted:
        item = output.items[i]
        try:
            if document_id(canonical_url(item.url or "")) in known:
                continue
        except ValueError:
            continue
        if done >= limit:
            output.errors.append(f"{limit} article pages fetched; the rest keep the feed summary")
            break
        try:
            page = fetch(item.url or "", settings=settings)
            article = extract_article(
                page.content,
                url=page.url,
                now=utcnow(),
                encoding=charset_from_content_type(page.content_type),
            )
        except (FetchError, ExtractionError) as exc:
            output.errors.append(f"article page {item.url}: {exc}")
            continue
        output.items[i] = replace(
            item,
            body=article.body or item.body,
            lead=item.lead or article.lead,
            author=item.author or article.author,
            published_at=item.published_at or article.published_at,
            meta={**item.meta, "body_from": "page"},
        )
        done += 1
    return done
