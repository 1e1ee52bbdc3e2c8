"""`PressWeb`: the fixture papers served from 127.0.0.1, one port per paper so that each is a
site of its own (own robots.txt, same-site and off-site links mean what they do on the web)."""

from __future__ import annotations

import logging
from email.message import Message
from functools import partial
from urllib.parse import urlsplit

from fixtureweb import feeds
from fixtureweb.articles import PAPER_KEYS, FixtureArticle
from fixtureweb.catalogue import TRAP_PATHS, Catalogue
from fixtureweb.markup import Links, huge_page, malformed_page
from fixtureweb.papers import PAPERS
from fixtureweb.rss import etag_of
from fixtureweb.serve import Reply, Site

log = logging.getLogger(__name__)


class PressWeb(Catalogue):
    """Three fixture newspapers on 127.0.0.1; `start()` serves them, `expected()` tells the
    truth about every article page."""

    _sites: dict[str, Site] | None = None

    # -- lifecycle
    def start(self) -> PressWeb:
        """Serve every paper on its own free port; returns self."""
        if self._sites:
            return self
        self._sites = {
            key: Site(partial(self.handle, key), name=f"press-web-{key}").start()
            for key in PAPER_KEYS
        }
        self._base_urls = {key: site.base_url for key, site in self._sites.items()}
        return self

    def stop(self) -> None:
        """Stop serving and free the ports."""
        for site in (self._sites or {}).values():
            site.stop()
        self._sites, self._base_urls = None, {}

    def __enter__(self) -> PressWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving
    def handle(self, paper: str, raw_path: str, headers: Message) -> Reply:
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
            return 200, "application/rss+xml; charset=utf-8", body, {"ETag": etag_of(body, 16)}
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
