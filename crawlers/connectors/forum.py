"""XenForo-style forums: the thread list (paged) and each thread's posts (paged). A thread's
first post is its document (kind "post"); replies are comments linked to it. The pages are
read by crawlers.connectors.forum_pages."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.models import Source
from core.settings import Settings
from crawlers.connectors.base import CrawlOutput, FetchedItem, register_connector
from crawlers.connectors.forum_pages import (
    ThreadPage,
    ThreadRef,
    parse_html,
    parse_listing,
    parse_thread,
)
from crawlers.connectors.social import config_int, config_str
from crawlers.http import FetchError, fetch
from crawlers.identity import canonical_url, document_id

log = logging.getLogger(__name__)

# Threads whose last post is older than the previous successful poll (less this margin, for
# replies written while that poll ran) have nothing new and are not fetched again.
RECHECK_MARGIN = timedelta(hours=1)
_THREAD_ID_RE = re.compile(r"\.(\d+)/?$")
_PAGE_RE = re.compile(r"page-(\d+)")


@dataclass(frozen=True)
class ForumConfig:
    """Source.config of a forum source."""

    forum_url: str
    max_pages: int
    max_threads: int
    max_thread_pages: int
    timezone: tzinfo
    incremental: bool

    @classmethod
    def from_source(cls, source: Source, settings: Settings) -> ForumConfig:
        """Read and check the config; FetchError (not retryable) names what is wrong."""
        config = source.config or {}
        zone = config.get("timezone") or settings.timezone
        try:
            tz: tzinfo = ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise FetchError(f"source config 'timezone': unknown time zone {zone!r}") from None
        return cls(
            forum_url=config_str(config, "forum_url", source.url),
            max_pages=config_int(config, "max_pages", 2, low=1, high=50),
            max_threads=config_int(config, "max_threads", 20, low=1, high=500),
            max_thread_pages=config_int(config, "max_thread_pages", 3, low=1, high=50),
            timezone=tz,
            incremental=bool(config.get("incremental", True)),
        )


def _pages_to_read(first: ThreadPage, budget: int) -> list[str] | None:
    """URLs of the thread's further pages within `budget` pages in all: the newest ones when
    the thread is longer (new replies land on the last page). None: follow 'next' instead."""
    if budget <= 1 or first.next_url is None:
        return []
    last = max(first.pages, default=0)
    if last <= 2 or not _PAGE_RE.search(first.pages[last]):
        return None
    numbers = range(max(2, last - budget + 2), last + 1)
    template = first.pages[last]
    return [first.pages.get(n) or _PAGE_RE.sub(f"page-{n}", template) for n in numbers]


class ForumConnector:
    """Polls one forum section: recent threads, their opening posts and replies."""

    kind = "forum"

    def fetch(self, source: Source, settings: Settings) -> CrawlOutput:
        """Threads from up to max_pages listing pages; FetchError when the listing fails."""
        cfg = ForumConfig.from_source(source, settings)
        output = CrawlOutput()
        cutoff = None
        if cfg.incremental and source.last_success_at is not None:
            cutoff = source.last_success_at - RECHECK_MARGIN
        host = urlsplit(cfg.forum_url).hostname
        refs: dict[str, ThreadRef] = {}
        page_url: str | None = cfg.forum_url
        for _page in range(cfg.max_pages):
            if page_url is None or len(refs) >= cfg.max_threads:
                break
            result = fetch(page_url, settings=settings)
            threads, page_url = parse_listing(parse_html(result), result.url, cfg.timezone)
            if not threads and not refs:
                output.errors.append(f"{result.url}: no threads found on the listing page")
            for ref in threads:
                if urlsplit(ref.url).hostname != host:
                    output.errors.append(f"{ref.url}: thread on another site, skipped")
                elif cutoff and ref.last_post_at and ref.last_post_at < cutoff:
                    continue
                else:
                    refs.setdefault(canonical_url(ref.url), ref)
            # Listings are newest first: a page with nothing new means older pages have none.
            if cutoff and all(t.last_post_at and t.last_post_at < cutoff for t in threads):
                break
        failures: list[FetchError] = []
        for ref in list(refs.values())[: cfg.max_threads]:
            try:
                output.items.extend(self._thread(ref, source, cfg, settings, output.errors))
            except FetchError as exc:
                # A busy forum asks us to slow down: stop now and come back later.
                if exc.status in (429, 503):
                    raise
                failures.append(exc)
                output.errors.append(f"thread {ref.url}: {exc}")
        if failures and len(failures) == min(len(refs), cfg.max_threads):
            raise failures[-1]
        return output

    def _thread(
        self,
        ref: ThreadRef,
        source: Source,
        cfg: ForumConfig,
        settings: Settings,
        errors: list[str],
    ) -> list[FetchedItem]:
        """The thread's document and its replies."""
        result = fetch(ref.url, settings=settings)
        first = parse_thread(parse_html(result), result.url, cfg.timezone)
        if not first.posts:
            errors.append(f"thread {ref.url}: no posts found, skipped")
            return []
        posts = list(first.posts)
        seen = {result.url}

        def read(url: str) -> ThreadPage:
            seen.add(url)
            page_result = fetch(url, settings=settings)
            page = parse_thread(parse_html(page_result), page_result.url, cfg.timezone)
            posts.extend(page.posts)
            return page

        planned = _pages_to_read(first, cfg.max_thread_pages)
        if planned is None:
            url = first.next_url
            for _page in range(cfg.max_thread_pages - 1):
                if url is None or url in seen:
                    break
                url = read(url).next_url
        else:
            for url in planned:
                if url not in seen:
                    read(url)
        opening, replies = posts[0], posts[1:]
        thread_id = document_id(canonical_url(ref.url))
        match = _THREAD_ID_RE.search(urlsplit(ref.url).path)
        meta: dict[str, Any] = {"platform": "forum", "thread_id": match and match.group(1)}
        if ref.views is not None:
            meta["views"] = ref.views
        if opening.quoted:
            meta["quoted"] = opening.quoted
        items = [
            FetchedItem(
                url=ref.url,
                title=first.title or ref.title,
                body=opening.text,
                author=opening.author,
                published_at=opening.published_at,
                native_id=opening.post_id,
                kind="post",
                comments=ref.replies if ref.replies is not None else len(replies),
                meta=meta,
            )
        ]
        done = {opening.post_id}
        for post in replies:
            # Quote-only replies have no text of their own.
            if post.post_id in done or not post.text:
                continue
            done.add(post.post_id)
            reply_meta: dict[str, Any] = {
                "platform": "forum",
                "parent": thread_id,
                "parent_url": ref.url,
            }
            if post.permalink:
                reply_meta["permalink"] = post.permalink
            if post.quoted:
                reply_meta["quoted"] = post.quoted
            items.append(
                FetchedItem(
                    url=None,
                    body=post.text,
                    author=post.author,
                    published_at=post.published_at,
                    native_id=post.post_id,
                    kind="comment",
                    meta=reply_meta,
                )
            )
        return items


register_connector("forum", ForumConnector)
