"""`PressWeb`: the fixture papers served from 127.0.0.1, one port per paper so that each is a
site of its own (own robots.txt, same-site and off-site links mean what they do on the web)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from core.models import utcnow
from core.settings import Settings, get_settings
from crawlers.fixtureweb import feeds
from crawlers.fixtureweb.articles import (
    PAPER_KEYS,
    FixtureArticle,
    load_extra_articles,
    load_fixture_articles,
)
from crawlers.fixtureweb.markup import Links, huge_page, malformed_page
from crawlers.fixtureweb.papers import PAPERS

log = logging.getLogger(__name__)

TRAP_PATHS = {"malformed": "/loi-hien-thi-post9001.html", "huge": "/bai-rat-dai-post9002.html"}
# Off-site links planted in Tin Nhanh Bến Nghé's listing and sitemap: a private address
# (an SSRF attempt) and, added at run time, an article of another paper.
PRIVATE_LINK = "http://10.11.12.13/bai-viet-noi-bo.html"

Reply = tuple[int, str, bytes, dict[str, str]]


@dataclass(frozen=True)
class ExpectedArticle:
    """What extraction should find on one article page."""

    url: str
    paper: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    author: str | None
    published_at: datetime
    # Where the document belongs: the page's own URL (syndicated copies included).
    canonical_url: str
    # The original's URL, on copies whose <link rel=canonical> points at it.
    original_url: str | None
    # Shared by an original and its syndicated copies.
    story: str
    robots_allowed: bool
    syndicated: bool


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    web: PressWeb
    paper_key: str

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Crawlers that cancel an oversized download leave a broken pipe behind; expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as real sites do; every reply carries Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "PressWeb/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm on, each keep-alive
    # reply would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        status, ctype, body, extra = self.server.web.handle(
            self.server.paper_key, self.path, dict(self.headers)
        )
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class PressWeb:
    """Three fixture newspapers on 127.0.0.1; `start()` serves them, `expected()` tells the
    truth about every article page."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        extra_per_paper: int = 0,
        now: datetime | None = None,
        traps: bool = False,
        huge_page_bytes: int = 0,
        page_size: int = 4,
    ) -> None:
        self.now = (now or utcnow()).replace(second=0, microsecond=0)
        articles = load_fixture_articles(self.now)
        if extra_per_paper > 0:
            shared = (settings or get_settings()).shared_data_dir
            articles += load_extra_articles(shared, per_paper=extra_per_paper, now=self.now)
        self.traps = traps
        self.huge_page_bytes = huge_page_bytes
        self.page_size = page_size
        self._lock = threading.Lock()
        self._articles: dict[str, list[FixtureArticle]] = {k: [] for k in PAPER_KEYS}
        self._originals = {a.key: a for a in articles}
        for a in articles:
            self._articles[a.paper].append(a)
        self._sort()
        self._servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []
        self._requests: dict[str, list[str]] = {k: [] for k in PAPER_KEYS}
        self._cache: dict[tuple[str, str], Reply] = {}

    # -- lifecycle
    def start(self) -> PressWeb:
        """Serve every paper on its own free port; returns self."""
        if self._servers:
            return self
        for key in PAPER_KEYS:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.web, server.paper_key = self, key
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            thread.start()
            self._servers[key] = server
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and free the ports."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = {}, []

    def __enter__(self) -> PressWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses
    @property
    def papers(self) -> tuple[str, ...]:
        """The paper keys: baoA, baoB, baoC."""
        return PAPER_KEYS

    def paper_name(self, paper: str) -> str:
        """The paper's display name."""
        return PAPERS[paper].name

    def base_url(self, paper: str) -> str:
        """http://127.0.0.1:<port> of one paper (after start())."""
        if paper not in self._servers:
            raise RuntimeError("the press web is not running")
        return f"http://127.0.0.1:{self._servers[paper].server_address[1]}"

    def url(self, paper: str, path: str) -> str:
        """The absolute URL of `path` on one paper."""
        return self.base_url(paper) + path

    def article_url(self, article: FixtureArticle) -> str:
        """The absolute URL of an article page."""
        return self.url(article.paper, PAPERS[article.paper].article_path(article))

    def sitemap_url(self, paper: str) -> str:
        """/sitemap.xml (a sitemap index on baoA, a urlset on the others)."""
        return self.url(paper, "/sitemap.xml")

    def news_sitemap_url(self, paper: str) -> str:
        """The Google News sitemap (the last 48 hours)."""
        return self.url(paper, "/sitemap-news.xml")

    def listing_url(self, paper: str) -> str:
        """Page 1 of the paginated listing."""
        return self.url(paper, PAPERS[paper].listing_path(1))

    def feed_url(self, paper: str) -> str:
        """The paper's RSS feed."""
        return self.url(paper, "/rss/tin-moi.rss")

    def trap_urls(self) -> dict[str, str]:
        """URLs of the malformed and the oversized page (on baoC) that are served."""
        traps = {"malformed": TRAP_PATHS["malformed"]} if self.traps else {}
        if self.huge_page_bytes:
            traps["huge"] = TRAP_PATHS["huge"]
        return {name: self.url("baoC", path) for name, path in traps.items()}

    def source_config(self, paper: str, **overrides: Any) -> dict[str, Any]:
        """A kind="site" Source.config that crawls one paper from its sitemap and listing."""
        spec = PAPERS[paper]
        config: dict[str, Any] = {
            "sitemaps": [self.sitemap_url(paper)],
            "listings": [self.listing_url(paper)],
            "article_selector": spec.article_selector,
            "next_selector": spec.next_selector,
            "max_pages": 100,
            # Everything, however old (the fixture's articles span three weeks).
            "since_days": 0,
        }
        config.update(overrides)
        return config

    # -- what was served
    def requests(self, paper: str) -> list[str]:
        """Paths requested from one paper so far."""
        with self._lock:
            return list(self._requests[paper])

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._lock:
            for log in self._requests.values():
                log.clear()

    def articles(self, paper: str | None = None) -> list[FixtureArticle]:
        """Articles of one paper (or all), newest first."""
        with self._lock:
            keys = [paper] if paper else list(PAPER_KEYS)
            return [a for k in keys for a in self._articles[k]]

    def expected(self, *, include_disallowed: bool = False) -> dict[str, ExpectedArticle]:
        """The truth about every article page, by URL."""
        truth = {}
        for a in self.articles():
            if not a.robots_allowed and not include_disallowed:
                continue
            url = self.article_url(a)
            original = self._originals.get(a.copy_of or "")
            truth[url] = ExpectedArticle(
                url=url,
                paper=a.paper,
                title=a.title,
                lead=a.lead,
                paragraphs=tuple(a.paragraphs),
                author=a.author or None,
                published_at=a.published_at,
                canonical_url=url,
                original_url=(
                    self.article_url(original)
                    if original is not None and a.canonical == "original"
                    else None
                ),
                story=a.story,
                robots_allowed=a.robots_allowed,
                syndicated=a.copy_of is not None,
            )
        return truth

    def publish(
        self,
        paper: str,
        *,
        slug: str,
        title: str,
        lead: str,
        paragraphs: list[str],
        author: str = "",
    ) -> str:
        """Publish a new article now (feed, sitemaps and listing follow); returns its URL."""
        with self._lock:
            number = 7001 + sum(len(v) for v in self._articles.values())
        article = FixtureArticle(
            paper=paper,
            slug=slug,
            number=number,
            section="Giáo dục",
            title=title,
            lead=lead,
            paragraphs=list(paragraphs),
            author=author,
            published_at=utcnow().replace(microsecond=0),
            story=f"{paper}/{slug}",
        )
        with self._lock:
            self._articles[paper].append(article)
            self._originals[article.key] = article
            self._sort()
            self._cache.clear()
        return self.article_url(article)

    def _sort(self) -> None:
        for items in self._articles.values():
            items.sort(key=lambda a: (a.published_at, a.number), reverse=True)

    # -- serving
    def handle(self, paper: str, raw_path: str, headers: dict[str, str]) -> Reply:
        """The reply to GET `raw_path` on one paper."""
        with self._lock:
            self._requests[paper].append(raw_path)
            cached = self._cache.get((paper, raw_path))
        if cached is None:
            try:
                cached = self._render(paper, raw_path)
            except Exception:
                # A bug here must look like a broken site (HTTP 500), not a dropped connection.
                log.exception("press web: rendering %s%s failed", paper, raw_path)
                return 500, "text/plain; charset=utf-8", b"internal error", {}
            with self._lock:
                self._cache[(paper, raw_path)] = cached
        status, ctype, body, extra = cached
        etag = extra.get("ETag")
        if etag and headers.get("If-None-Match") == etag:
            return 304, ctype, b"", extra
        return cached

    def _render(self, paper: str, raw_path: str) -> Reply:
        spec = PAPERS[paper]
        path = urlsplit(raw_path).path
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            text = (
                "User-agent: *\nDisallow: /noi-bo/\nDisallow: /tim-kiem\n\n"
                f"Sitemap: {self.sitemap_url(paper)}\n"
            )
            return 200, "text/plain; charset=utf-8", text.encode(), {}
        if path == "/rss/tin-moi.rss":
            body = feeds.rss(self, paper)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            return 200, "application/rss+xml; charset=utf-8", body, {"ETag": etag}
        xml = "application/xml; charset=utf-8"
        sitemaps = {
            "/sitemap.xml": feeds.sitemap,
            "/sitemap-news.xml": feeds.news_sitemap,
            "/sitemaps/recent.xml": feeds.sitemap_part,
            "/sitemaps/archive.xml": feeds.sitemap_part,
        }
        if path in sitemaps:
            return 200, xml, sitemaps[path](self, paper, path), {}
        if paper == "baoC" and path in TRAP_PATHS.values():
            if path == TRAP_PATHS["malformed"] and self.traps:
                return 200, html, malformed_page(), {}
            if path == TRAP_PATHS["huge"] and self.huge_page_bytes:
                return 200, html, huge_page(self.huge_page_bytes), {}
        for page in range(1, self._pages(paper) + 1):
            if raw_path == spec.listing_path(page):
                return 200, html, self._listing(paper, page).encode(), {}
        for a in self.articles(paper):
            if spec.article_path(a) == path:
                return 200, self._article_ctype(paper), self._article(a).encode(), {}
        if path == "/":
            home = f'<html><body><a href="{spec.listing_path(1)}">Giáo dục</a></body></html>'
            return 200, html, home.encode(), {}
        return 404, html, "<html><body><h1>Không tìm thấy trang</h1></body></html>".encode(), {}

    def _article_ctype(self, paper: str) -> str:
        # Báo Hòa Bình Xanh sends no charset: only its <meta http-equiv> says UTF-8.
        return "text/html" if paper == "baoA" else "text/html; charset=utf-8"

    def _article(self, a: FixtureArticle) -> str:
        siblings = [o for o in self.articles(a.paper) if o is not a and o.robots_allowed]
        start = next((i for i, o in enumerate(siblings) if o.published_at <= a.published_at), 0)
        related = (siblings[start:] + siblings[:start])[:3]
        links = Links(base_url=self.base_url(a.paper), url_of=self.article_url)
        return PAPERS[a.paper].render_article(a, links, related, self._originals)

    def listing_entries(self, paper: str) -> list[tuple[FixtureArticle | None, str, str]]:
        """(article or None, URL, title) in listing order: traps and planted links first."""
        entries: list[tuple[FixtureArticle | None, str, str]] = []
        if paper == "baoC":
            entries += [(None, url, "Trang đặc biệt") for url in self.trap_urls().values()]
        if paper == "baoB":
            other = next(a for a in self.articles("baoA") if a.robots_allowed)
            entries.append((other, self.article_url(other), other.title))
            entries.append((None, PRIVATE_LINK, "Bài viết nội bộ"))
        entries += [(a, self.article_url(a), a.title) for a in self.articles(paper)]
        return entries

    def _pages(self, paper: str) -> int:
        return max(1, -(-len(self.listing_entries(paper)) // self.page_size))

    def _listing(self, paper: str, page: int) -> str:
        spec = PAPERS[paper]
        chunk = self.listing_entries(paper)[(page - 1) * self.page_size : page * self.page_size]
        base = self.base_url(paper)
        items = "".join(
            spec.listing_item(title, spec.listing_href(url, base)) for _a, url, title in chunk
        )
        return spec.render_listing(items, page, self._pages(paper))
