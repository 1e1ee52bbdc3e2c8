"""The one sitemap builder of the fixture web: urlsets, sitemap indexes and Google News
sitemaps from plain (URL, date) entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from fixtureweb.rss import VN_TZ, XML_DECL

_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


@dataclass(frozen=True)
class NewsEntry:
    """One Google News sitemap entry."""

    url: str
    publication: str
    published_at: datetime
    title: str


def _iso(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).isoformat()


def _lastmod(moment: datetime | None) -> str:
    return f"<lastmod>{_iso(moment)}</lastmod>" if moment else ""


def urlset(entries: list[tuple[str, datetime | None]]) -> bytes:
    """A <urlset> of (URL, lastmod or None) entries."""
    urls = "".join(
        f"<url><loc>{escape(loc)}</loc>{_lastmod(mod)}<changefreq>hourly</changefreq></url>\n"
        for loc, mod in entries
    )
    return (XML_DECL + f'<urlset xmlns="{_NS}">\n' + urls + "</urlset>\n").encode("utf-8")


def sitemap_index(parts: list[tuple[str, datetime | None]]) -> bytes:
    """A <sitemapindex> of (sitemap URL, lastmod or None) parts."""
    index = "".join(
        f"<sitemap><loc>{escape(loc)}</loc>{_lastmod(mod)}</sitemap>\n" for loc, mod in parts
    )
    return (XML_DECL + f'<sitemapindex xmlns="{_NS}">\n' + index + "</sitemapindex>\n").encode(
        "utf-8"
    )


def news_urlset(entries: list[NewsEntry]) -> bytes:
    """A Google News sitemap: news:publication_date and news:title per entry."""
    urls = "".join(
        f"<url><loc>{escape(e.url)}</loc><news:news><news:publication>"
        f"<news:name>{escape(e.publication)}</news:name><news:language>vi</news:language>"
        f"</news:publication><news:publication_date>{_iso(e.published_at)}"
        f"</news:publication_date><news:title>{escape(e.title)}</news:title></news:news></url>\n"
        for e in entries
    )
    return (XML_DECL + f'<urlset xmlns="{_NS}"{_NEWS_NS}>\n' + urls + "</urlset>\n").encode("utf-8")
