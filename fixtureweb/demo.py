"""A small local press site for demos and tests: an HTML home page, article pages and an RSS
feed with ETag/Last-Modified, served from 127.0.0.1 (`diemtin run --demo`, `make demo`)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Source, utcnow
from core.settings import Settings
from fixtureweb.demo_articles import DemoArticle, load_demo_articles
from fixtureweb.rss import VN_TZ, FeedItem, etag_of, rss_feed
from fixtureweb.serve import Reply, Site

log = logging.getLogger(__name__)

DEMO_SOURCE_NAME = "Báo mẫu (demo)"
SITE_NAME = "Báo Mẫu"
_HTML = "text/html; charset=utf-8"
_RSS = "application/rss+xml; charset=utf-8"


def _shown_time(dt: datetime) -> str:
    return dt.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M (GMT+7)")


def _page(title: str, body: str, head: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head}</head>\n<body>\n"
        f'<header><a href="/">{escape(SITE_NAME)}</a> – Tin giáo dục</header>\n'
        f"<main>\n{body}</main>\n</body>\n</html>\n"
    )


def _not_modified(headers: Message, etag: str, last_modified: str) -> bool:
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        return etag in [t.strip() for t in if_none_match.split(",")] or if_none_match == "*"
    since = headers.get("If-Modified-Since")
    if since:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


class DemoSite:
    """The demo press site; `start()` serves it on 127.0.0.1 in a daemon thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        articles: list[DemoArticle] | None = None,
        settings: Settings | None = None,
        extra_limit: int = 200,
    ) -> None:
        self.host = host
        if articles is None:
            articles = load_demo_articles(settings=settings, extra_limit=extra_limit)
        self._articles = sorted(articles, key=lambda a: a.published_at, reverse=True)
        self._by_slug = {a.slug: a for a in self._articles}
        self._lock = threading.Lock()
        self._feed: tuple[bytes, str, str] | None = None
        self._site = Site(self.handle, host=host, port=port, name="demo-site")

    # -- lifecycle
    def start(self) -> DemoSite:
        """Start serving (port 0 picks a free port); returns self."""
        self._site.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._site.stop()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port being served (after start())."""
        if not self._site.running:
            raise RuntimeError("demo site is not running")
        return self._site.port

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def feed_url(self) -> str:
        """The RSS feed's URL."""
        return f"{self.base_url}/rss.xml"

    @property
    def articles(self) -> list[DemoArticle]:
        """The articles, newest first."""
        with self._lock:
            return list(self._articles)

    def article_url(self, article: DemoArticle) -> str:
        """The absolute URL of an article page."""
        return f"{self.base_url}/bai/{article.slug}.html"

    def add_article(self, article: DemoArticle) -> None:
        """Publish (or replace) an article; the feed's ETag changes with it."""
        with self._lock:
            self._articles = [a for a in self._articles if a.slug != article.slug] + [article]
            self._articles.sort(key=lambda a: a.published_at, reverse=True)
            self._by_slug = {a.slug: a for a in self._articles}
            self._feed = None

    # -- serving
    def handle(self, raw_path: str, headers: Message) -> Reply:
        """The reply to GET (or HEAD) `raw_path`."""
        path = urlsplit(raw_path).path
        if path in ("/", "/index.html"):
            return 200, _HTML, self.render_home().encode(), {}
        if path == "/rss.xml":
            feed, etag, last_modified = self.feed()
            extra = {"ETag": etag, "Last-Modified": last_modified, "Cache-Control": "max-age=0"}
            if _not_modified(headers, etag, last_modified):
                return 304, _RSS, b"", extra
            return 200, _RSS, feed, extra
        if path.startswith("/bai/") and path.endswith(".html"):
            page = self.render_article(path[len("/bai/") : -len(".html")])
            if page is not None:
                return 200, _HTML, page.encode(), {}
        return 404, _HTML, self.render_not_found().encode(), {}

    # -- rendering (all scraped or stored text is escaped)
    def render_home(self) -> str:
        """The home page listing every article."""
        items = "".join(
            f'<li><a href="/bai/{escape(a.slug)}.html">{escape(a.title)}</a> '
            f'<time datetime="{a.published_at.isoformat()}">{_shown_time(a.published_at)}</time>'
            f"<p>{escape(a.lead)}</p></li>\n"
            for a in self.articles
        )
        return _page(f"{SITE_NAME} – Tin giáo dục", f'<ul class="articles">\n{items}</ul>\n')

    def render_article(self, slug: str) -> str | None:
        """An article page, or None for an unknown slug."""
        with self._lock:
            a = self._by_slug.get(slug)
        if a is None:
            return None
        iso = a.published_at.isoformat()
        url = escape(self.article_url(a))
        head = (
            f'<link rel="canonical" href="{url}">\n'
            f'<meta property="og:title" content="{escape(a.title)}">\n'
            f'<meta property="og:description" content="{escape(a.lead)}">\n'
            f'<meta property="article:published_time" content="{iso}">\n'
            f'<meta name="author" content="{escape(a.author)}">\n'
        )
        paragraphs = "".join(f"<p>{escape(p)}</p>\n" for p in a.paragraphs)
        byline = f'<span class="author">{escape(a.author)}</span> · ' if a.author else ""
        body = (
            f'<article>\n<p class="section">{escape(a.section)}</p>\n<h1>{escape(a.title)}</h1>\n'
            f'<p class="byline">{byline}<time datetime="{iso}">{_shown_time(a.published_at)}'
            f'</time></p>\n<p class="lead"><strong>{escape(a.lead)}</strong></p>\n'
            f"{paragraphs}</article>\n"
        )
        return _page(f"{a.title} – {SITE_NAME}", body, head)

    def render_not_found(self) -> str:
        """The 404 page."""
        return _page("Không tìm thấy trang", "<h1>Không tìm thấy trang</h1>\n")

    def render_feed(self) -> bytes:
        """The RSS 2.0 feed, newest first."""
        articles = self.articles
        items = [
            FeedItem(
                title=a.title,
                link=self.article_url(a),
                published_at=a.published_at,
                lead=a.lead,
                paragraphs=a.paragraphs,
                author=a.author,
                category=a.section,
            )
            for a in articles
        ]
        return rss_feed(
            title=f"{SITE_NAME} – Giáo dục",
            link=f"{self.base_url}/",
            description="Tin giáo dục tỉnh Hòa Bình Xanh (trang mẫu)",
            items=items,
            last_build=articles[0].published_at if articles else utcnow(),
        )

    def feed(self) -> tuple[bytes, str, str]:
        """(feed bytes, ETag, Last-Modified), cached until the articles change."""
        with self._lock:
            cached = self._feed
        if cached is not None:
            return cached
        body = self.render_feed()
        articles = self.articles
        newest = articles[0].published_at if articles else utcnow()
        last_modified = format_datetime(newest.astimezone(UTC), usegmt=True)
        with self._lock:
            self._feed = (body, etag_of(body), last_modified)
        return self._feed


def register_demo_source(session: Session, url: str) -> Source:
    """Create or point the demo Source at `url` (committed), due for an immediate crawl."""
    source = session.scalar(select(Source).where(Source.name == DEMO_SOURCE_NAME))
    if source is None:
        source = Source(name=DEMO_SOURCE_NAME)
        session.add(source)
    if source.url != url:
        # A new server (new port) shares no validators with the old one.
        source.etag = source.last_modified = None
    source.url = url
    source.kind = "rss"
    source.scope = "local"
    source.poll_interval_s = 30
    source.enabled = True
    source.next_poll_at = None
    if source.health == "flagged":
        source.health, source.consecutive_failures = "unknown", 0
    session.commit()
    return source
