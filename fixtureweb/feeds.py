"""Sitemaps (index, urlset, Google News) and the RSS feed of each fixture paper."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING

from core.models import utcnow
from crawlers.fixtureweb.markup import local

if TYPE_CHECKING:
    from crawlers.fixtureweb.articles import FixtureArticle
    from crawlers.fixtureweb.server import PressWeb

NEWS_WINDOW = timedelta(hours=48)
RECENT_WINDOW = timedelta(days=7)
FEED_SIZE = 50
_URLSET = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
_NEWS_NS = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _x(text: str) -> str:
    return escape(text, quote=True)


def _iso(moment: datetime) -> str:
    return local(moment).isoformat()


def _url(loc: str, lastmod: datetime | None) -> str:
    mod = f"<lastmod>{_iso(lastmod)}</lastmod>" if lastmod else ""
    return f"<url><loc>{_x(loc)}</loc>{mod}<changefreq>hourly</changefreq></url>\n"


def _urlset(entries: list[str], news: bool = False) -> bytes:
    head = _XML_DECL + _URLSET + (_NEWS_NS if news else "") + ">\n"
    return (head + "".join(entries) + "</urlset>\n").encode("utf-8")


def _recent(articles: list[FixtureArticle]) -> tuple[list[FixtureArticle], list[FixtureArticle]]:
    cutoff = utcnow() - RECENT_WINDOW
    recent = [a for a in articles if a.published_at >= cutoff]
    return recent, [a for a in articles if a.published_at < cutoff]


def sitemap(web: PressWeb, paper: str, path: str) -> bytes:
    """/sitemap.xml: an index on baoA (parts + news), a urlset elsewhere."""
    articles = web.articles(paper)
    if paper == "baoA":
        recent, archive = _recent(articles)
        parts = [
            ("/sitemaps/recent.xml", recent[0].published_at if recent else None),
            ("/sitemaps/archive.xml", archive[0].published_at if archive else None),
            ("/sitemap-news.xml", utcnow()),
        ]
        index = "".join(
            f"<sitemap><loc>{_x(web.url(paper, p))}</loc>"
            + (f"<lastmod>{_iso(mod)}</lastmod>" if mod else "")
            + "</sitemap>\n"
            for p, mod in parts
        )
        return (
            _XML_DECL
            + '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + index
            + "</sitemapindex>\n"
        ).encode("utf-8")
    entries: list[str] = []
    if paper == "baoB":
        # Planted off-site entries: a crawler must not follow them.
        entries += [_url(url, None) for _a, url, _t in web.listing_entries(paper)[:2]]
    if paper == "baoC":
        entries += [_url(url, None) for url in web.trap_urls().values()]
    for a in articles:
        # Some real sitemaps leave lastmod out; undated entries must still be crawled.
        dated = paper != "baoC" or a.number % 2 == 0
        entries.append(_url(web.article_url(a), a.published_at if dated else None))
    return _urlset(entries)


def sitemap_part(web: PressWeb, paper: str, path: str) -> bytes:
    """baoA's /sitemaps/recent.xml (last 7 days) and /sitemaps/archive.xml (older)."""
    recent, archive = _recent(web.articles(paper))
    chosen = recent if path.endswith("recent.xml") else archive
    return _urlset([_url(web.article_url(a), a.published_at) for a in chosen])


def news_sitemap(web: PressWeb, paper: str, path: str) -> bytes:
    """The Google News sitemap: articles of the last 48 hours with news:publication_date."""
    cutoff = utcnow() - NEWS_WINDOW
    entries = [
        f"<url><loc>{_x(web.article_url(a))}</loc><news:news><news:publication>"
        f"<news:name>{_x(web.paper_name(paper))}</news:name><news:language>vi</news:language>"
        f"</news:publication><news:publication_date>{_iso(a.published_at)}"
        f"</news:publication_date><news:title>{_x(a.title)}</news:title></news:news></url>\n"
        for a in web.articles(paper)
        if a.published_at >= cutoff
    ]
    return _urlset(entries, news=True)


def rss(web: PressWeb, paper: str) -> bytes:
    """RSS 2.0 of the newest articles, with the full text in content:encoded."""
    articles = [a for a in web.articles(paper) if a.robots_allowed][:FEED_SIZE]
    items = []
    for a in articles:
        link = _x(web.article_url(a))
        html_body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
        author = f"<dc:creator>{_x(a.author)}</dc:creator>" if a.author else ""
        items.append(
            f"<item><title>{_x(a.title)}</title><link>{link}</link>"
            f'<guid isPermaLink="true">{link}</guid>'
            f"<pubDate>{format_datetime(local(a.published_at))}</pubDate>{author}"
            f"<description>{_x(a.lead)}</description>"
            f"<content:encoded>{_x(html_body)}</content:encoded></item>\n"
        )
    xml = (
        _XML_DECL + '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>{_x(web.paper_name(paper))} – Tin mới</title>"
        f"<link>{_x(web.base_url(paper))}/</link><description>Tin giáo dục</description>"
        f"<language>vi</language>\n{''.join(items)}</channel>\n</rss>\n"
    )
    return xml.encode("utf-8")
