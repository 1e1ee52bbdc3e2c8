"""`NewsSiteSpider`: finds a news site's articles in its sitemaps and paginated listing pages,
fetches them and yields extracted articles (and per-page errors) as plain dicts."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.encoding import charset_from_content_type
from crawlers.extract import ExtractionError, extract_article
from crawlers.spiders.config import CrawlJob, site_of
from crawlers.spiders.middlewares import BlockedRequest
from crawlers.spiders.sitemaps import parse_sitemap, sitemaps_in_robots

log = logging.getLogger(__name__)

# Bounds a sitemap index that points at sitemaps that point at sitemaps...
MAX_SITEMAPS = 200
_HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "application/xml", "text/xml")


def describe_failure(failure: Failure, max_bytes: int) -> str:
    """A short, plain message for why a request failed."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    text = str(exc)
    name = type(exc).__name__
    if "max size" in text:
        # A declared Content-Length over the limit: Scrapy's message names both sizes.
        return f"page too large, download cancelled ({text.split(' in request ')[0]})"
    if "Cancelled" in name:
        # A body that grew past the limit while streaming is cancelled without a message.
        return f"page too large, download cancelled (over {max_bytes} bytes)"
    if "Timeout" in name or "TimedOut" in name:
        return f"timed out ({name})"
    return f"{name}: {text}" if text else name


class NewsSiteSpider(scrapy.Spider):
    """Crawls one news site as described by a CrawlJob."""

    name = "news"

    def __init__(self, job: CrawlJob, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.sites = job.sites
        self.since = job.since_dt()
        self.now = job.now_dt()
        self.counts: Counter[str] = Counter()
        # Starting points that failed, and whether waiting may help (network, 5xx, 429).
        self.start_failures: dict[str, bool] = {}
        self._scheduled: set[str] = set()
        self._emitted: set[str] = set()
        self._sitemaps_seen = 0

    # -- starting points (start() for Scrapy >= 2.13, start_requests() before it)
    async def start(self) -> AsyncIterator[Any]:
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[scrapy.Request]:
        for url in self.job.sitemaps:
            yield self._sitemap_request(url, start=True)
        for url in self.job.listings:
            yield scrapy.Request(
                url,
                callback=self.parse_listing,
                errback=self.on_error,
                cb_kwargs={"page": 1},
                meta={"start": True},
                priority=5,
            )

    def _sitemap_request(self, url: str, *, start: bool = False) -> scrapy.Request:
        self._sitemaps_seen += 1
        return scrapy.Request(
            url,
            callback=self.parse_sitemap,
            errback=self.on_error,
            meta={"start": start},
            priority=10,
            dont_filter=start,
        )

    # -- discovery
    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Follow a sitemap index, or request the articles of a urlset (newer than since)."""
        if urlsplit(response.url).path.endswith("/robots.txt"):
            text = response.body.decode("utf-8", "replace")
            found = sitemaps_in_robots(text, response.url)
            if not found:
                yield self._start_error(response, "robots.txt names no sitemap")
            for url in found:
                yield from self._follow_sitemap(url)
            return
        sitemap = parse_sitemap(response.body, now=self.now)
        if sitemap.kind == "invalid":
            yield self._start_error(response, "not a sitemap (unparseable XML)")
            return
        for entry in sitemap.entries:
            if self.since and entry.when and entry.when < self.since:
                self.counts["too_old"] += 1
                continue
            if sitemap.kind == "index":
                yield from self._follow_sitemap(urljoin(response.url, entry.loc))
            else:
                yield from self._article_request(urljoin(response.url, entry.loc), "sitemap")

    def _follow_sitemap(self, url: str) -> Iterator[scrapy.Request]:
        if site_of(url) not in self.sites:
            self.counts["offsite_dropped"] += 1
        elif self._sitemaps_seen >= MAX_SITEMAPS:
            self.counts["sitemaps_over_limit"] += 1
        else:
            yield self._sitemap_request(url)

    def parse_listing(self, response: Response, page: int) -> Iterator[Any]:
        """Request the articles a listing page links to, then its next page."""
        found = 0
        for node in response.css(self.job.article_selector):
            href = self._href(node)
            if href:
                found += 1
                yield from self._article_request(response.urljoin(href), "listing")
        if found == 0 and page == 1:
            yield self._start_error(response, "listing: article_selector matched no links")
        if self.job.next_selector and page < self.job.max_pages:
            nodes = response.css(self.job.next_selector)
            href = self._href(nodes[0]) if nodes else None
            if href and site_of(response.urljoin(href)) in self.sites:
                yield scrapy.Request(
                    response.urljoin(href),
                    callback=self.parse_listing,
                    errback=self.on_error,
                    cb_kwargs={"page": page + 1},
                    priority=5,
                )

    @staticmethod
    def _href(node: Any) -> str | None:
        # The selector may name the <a> itself, an element around it, or end in ::attr(href).
        if isinstance(node.root, str):
            return node.root.strip() or None
        href = node.attrib.get("href") or node.css("a::attr(href)").get()
        return href.strip() if href else None

    def _article_request(self, url: str, via: str) -> Iterator[scrapy.Request]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return
        url = urlunsplit(parts._replace(fragment=""))
        if site_of(url) not in self.sites:
            self.counts["offsite_dropped"] += 1
            return
        # Exact URLs only: crawlers.pipeline.canonical_url (trackers, AMP) is applied by the
        # parent, which keeps this process free of the pipeline's heavy imports.
        if url in self._scheduled:
            return
        if len(self._scheduled) >= self.job.max_articles:
            self.counts["over_max_articles"] += 1
            return
        self._scheduled.add(url)
        yield scrapy.Request(
            url, callback=self.parse_article, errback=self.on_error, meta={"via": via}
        )

    # -- articles
    # parse_article and on_error return lists instead of yielding: Scrapy inspects the
    # source of every generator callback for 'return <value>' on each call (its cache is
    # keyed by the short-lived bound method), which cost more than extraction itself.
    def parse_article(self, response: Response) -> list[dict[str, Any]]:
        """Extract one article page into an item (or an error record)."""
        self.counts["pages"] += 1
        if site_of(response.url) not in self.sites:
            # Redirected to another site: that outlet's article is not this source's.
            self.counts["offsite_dropped"] += 1
            return []
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if ctype and not ctype.startswith(_HTML_TYPES):
            return [self._error(response.url, f"not an HTML page ({ctype.split(';')[0]})")]
        try:
            charset = charset_from_content_type(ctype)
            article = extract_article(
                response.body, url=response.url, now=self.now, encoding=charset
            )
        except ExtractionError as exc:
            return [self._error(response.url, f"extraction failed: {exc}")]
        except Exception as exc:  # one broken page must never end the crawl
            log.exception("extracting %s failed", response.url)
            return [self._error(response.url, f"extraction failed: {type(exc).__name__}: {exc}")]
        if self.since and article.published_at and article.published_at < self.since:
            self.counts["too_old"] += 1
            return []
        key = article.canonical_url
        if key in self._emitted:
            # Two discovered URLs (listing '?ref=' and sitemap) with one canonical page.
            self.counts["duplicates"] += 1
            return []
        self._emitted.add(key)
        self.counts["items"] += 1
        return [
            {
                "type": "item",
                "url": article.canonical_url,
                "fetched_url": response.url,
                "title": article.title,
                "lead": article.lead,
                "body": article.body,
                "author": article.author,
                "published_at": (
                    article.published_at.isoformat() if article.published_at else None
                ),
                "published_from": article.published_from,
                "original_url": article.original_url,
                "language": article.language,
                "warnings": article.warnings,
                "via": response.meta.get("via"),
            }
        ]

    # -- failures
    def on_error(self, failure: Failure) -> list[dict[str, Any]]:
        """Record why a request failed; robots.txt refusals are counted, not errors."""
        request = failure.request  # type: ignore[attr-defined]
        message = describe_failure(failure, self.job.max_bytes)
        if "robots.txt" in message and not isinstance(failure.value, BlockedRequest):
            self.counts["robots_forbidden"] += 1
            return []
        if request.meta.get("start"):
            exc = failure.value
            status = exc.response.status if isinstance(exc, HttpError) else None
            self.start_failures[request.url] = (
                status is None or status in (408, 429) or (status >= 500)
            )
        return [self._error(request.url, message)]

    def _start_error(self, response: Response, message: str) -> dict[str, Any]:
        # A starting point that gives nothing to follow fails like one that cannot be fetched.
        if response.meta.get("start"):
            self.start_failures[response.url] = False
        return self._error(response.url, message)

    def _error(self, url: str, message: str) -> dict[str, Any]:
        self.counts["errors"] += 1
        return {"type": "error", "url": url, "message": message}

    def summary(self) -> dict[str, Any]:
        """Counts of this crawl, for the parent's log and the bench."""
        return {
            "type": "stats",
            **dict(self.counts),
            "start_urls": len(self.job.start_urls),
            "start_failures": len(self.start_failures),
            "start_failures_transient": sum(self.start_failures.values()),
        }
