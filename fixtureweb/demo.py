"""A small local press site for demos and tests: an HTML home page, article pages and an RSS
feed with ETag/Last-Modified, served from 127.0.0.1 by the standard library.

Articles: our own fictional education news (demo_articles.json), plus, when the shared
VNTC sample is present, real article text read from it at run time (never copied here)."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Source, utcnow
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

DEMO_SOURCE_NAME = "Báo mẫu (demo)"
SITE_NAME = "Báo Mẫu"
ARTICLES_FILE = Path(__file__).with_name("demo_articles.json")
VNTC_SAMPLE = Path("vntc-articles") / "sample.csv"
# Vietnam has kept UTC+7 without daylight saving since 1975; a fixed offset is exact.
VN_TZ = timezone(timedelta(hours=7))
WINDOW = timedelta(hours=48)


@dataclass
class DemoArticle:
    """One article of the demo site."""

    slug: str
    title: str
    lead: str
    paragraphs: list[str]
    published_at: datetime
    author: str = ""
    section: str = "Giáo dục"
    tags: list[str] = field(default_factory=list)


def load_builtin_articles(now: datetime) -> list[DemoArticle]:
    """Our own fictional articles, published `hours_ago` before `now`."""
    raw = json.loads(ARTICLES_FILE.read_text(encoding="utf-8"))
    return [
        DemoArticle(
            slug=a["slug"],
            title=a["title"],
            lead=a["lead"],
            paragraphs=list(a["paragraphs"]),
            published_at=now - timedelta(hours=float(a["hours_ago"])),
            author=a.get("author", ""),
            section=a.get("section", "Giáo dục"),
        )
        for a in raw
    ]


def load_vntc_articles(path: Path, *, limit: int, now: datetime) -> list[DemoArticle]:
    """Up to `limit` articles from the VNTC sample (first line = title), or [] if absent."""
    if limit <= 0 or not path.is_file():
        return []
    # Article bodies exceed csv's default 128 KiB field limit now and then.
    csv.field_size_limit(16 * 1024 * 1024)
    rows: list[tuple[list[str], str]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            lines = [line.strip() for line in (row.get("text") or "").splitlines()]
            lines = [line for line in lines if line]
            if len(lines) >= 2:
                rows.append((lines, row.get("label") or "Tin tức"))
            if len(rows) >= limit:
                break
    step = WINDOW / (len(rows) + 1)
    return [
        DemoArticle(
            slug=f"vntc-{i:04d}",
            title=lines[0],
            lead=lines[1],
            paragraphs=lines[2:] or lines[1:],
            published_at=now - step * (i + 1),
            section=label,
        )
        for i, (lines, label) in enumerate(rows)
    ]


def load_demo_articles(
    *, now: datetime | None = None, settings: Settings | None = None, extra_limit: int = 200
) -> list[DemoArticle]:
    """Built-in articles plus up to `extra_limit` VNTC ones, newest first."""
    now = now or utcnow()
    articles = load_builtin_articles(now)
    if extra_limit > 0:
        shared = (settings or get_settings()).shared_data_dir
        articles += load_vntc_articles(shared / VNTC_SAMPLE, limit=extra_limit, now=now)
    return sorted(articles, key=lambda a: a.published_at, reverse=True)


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: DemoSite


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "BaoMau/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("demo site: " + format, *args)

    def _respond(self, *, send_body: bool) -> None:
        site = self.server.site
        path = urlsplit(self.path).path
        extra: dict[str, str] = {}
        if path in ("/", "/index.html"):
            status, ctype, body = 200, "text/html", site.render_home().encode()
        elif path == "/rss.xml":
            feed, etag, last_modified = site.feed()
            extra = {"ETag": etag, "Last-Modified": last_modified, "Cache-Control": "max-age=0"}
            if self._not_modified(etag, last_modified):
                self._send(304, "application/rss+xml", b"", extra, send_body=False)
                return
            status, ctype, body = 200, "application/rss+xml", feed
        elif path.startswith("/bai/") and path.endswith(".html"):
            page = site.render_article(path[len("/bai/") : -len(".html")])
            status = 200 if page is not None else 404
            body = (page or site.render_not_found()).encode()
            ctype = "text/html"
        else:
            status, ctype, body = 404, "text/html", site.render_not_found().encode()
        self._send(status, ctype, body, extra, send_body=send_body)

    def _not_modified(self, etag: str, last_modified: str) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [t.strip() for t in if_none_match.split(",")] or if_none_match == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
            except (TypeError, ValueError):
                return False
        return False

    def _send(
        self, status: int, ctype: str, body: bytes, extra: dict[str, str], *, send_body: bool
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)


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
        self.requested_port = port
        if articles is None:
            articles = load_demo_articles(settings=settings, extra_limit=extra_limit)
        self._articles = sorted(articles, key=lambda a: a.published_at, reverse=True)
        self._by_slug = {a.slug: a for a in self._articles}
        self._lock = threading.Lock()
        self._feed: tuple[bytes, str, str] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> DemoSite:
        """Start serving (port 0 picks a free port); returns self."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.requested_port), _Handler)
        self._server.site = self
        # A short poll interval keeps stop() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="demo-site",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port being served (after start())."""
        if self._server is None:
            raise RuntimeError("demo site is not running")
        return int(self._server.server_address[1])

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
        newest = articles[0].published_at if articles else utcnow()
        items = []
        for a in articles:
            link = escape(self.article_url(a))
            # content:encoded holds HTML, so each paragraph is escaped as HTML and the
            # whole fragment once more as XML.
            html_body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
            author = f"<dc:creator>{escape(a.author)}</dc:creator>" if a.author else ""
            items.append(
                f"<item><title>{escape(a.title)}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid>'
                f"<pubDate>{format_datetime(a.published_at.astimezone(VN_TZ))}</pubDate>"
                f"{author}<category>{escape(a.section)}</category>"
                f"<description>{escape(a.lead)}</description>"
                f"<content:encoded>{escape(html_body)}</content:encoded></item>\n"
            )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
            f"<title>{escape(SITE_NAME)} – Giáo dục</title><link>{escape(self.base_url)}/</link>"
            "<description>Tin giáo dục tỉnh Hòa Bình Xanh (trang mẫu)</description>"
            f"<language>vi</language><lastBuildDate>{format_datetime(newest.astimezone(VN_TZ))}"
            f"</lastBuildDate>\n{''.join(items)}</channel>\n</rss>\n"
        )
        return xml.encode("utf-8")

    def feed(self) -> tuple[bytes, str, str]:
        """(feed bytes, ETag, Last-Modified), cached until the articles change."""
        with self._lock:
            cached = self._feed
        if cached is not None:
            return cached
        body = self.render_feed()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        articles = self.articles
        newest = articles[0].published_at if articles else utcnow()
        last_modified = format_datetime(newest.astimezone(UTC), usegmt=True)
        with self._lock:
            self._feed = (body, etag, last_modified)
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


def main(argv: list[str] | None = None) -> int:
    """Serve the demo site until interrupted: `python -m crawlers.demo [--port N]`."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Serve the demo press site on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=settings.demo_port)
    parser.add_argument("--extra", type=int, default=200, help="VNTC articles to add")
    args = parser.parse_args(argv)
    site = DemoSite(port=args.port, settings=settings, extra_limit=args.extra).start()
    print(f"Demo site: {site.base_url}/ (feed {site.feed_url}), {len(site.articles)} articles")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
