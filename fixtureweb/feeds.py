"""What each fixture paper puts in its sitemaps (index, urlset, Google News) and RSS feed."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.models import utcnow
from fixtureweb.articles import FixtureArticle
from fixtureweb.catalogue import Catalogue
from fixtureweb.rss import FeedItem, rss_feed
from fixtureweb.sitemaps import NewsEntry, news_urlset, sitemap_index, urlset

NEWS_WINDOW = timedelta(hours=48)
RECENT_WINDOW = timedelta(days=7)
FEED_SIZE = 50


def _recent(articles: list[FixtureArticle]) -> tuple[list[FixtureArticle], list[FixtureArticle]]:
    cutoff = utcnow() - RECENT_WINDOW
    recent = [a for a in articles if a.published_at >= cutoff]
    return recent, [a for a in articles if a.published_at < cutoff]


def sitemap(web: Catalogue, paper: str, path: str) -> bytes:
    """/sitemap.xml: an index on baoA (parts + news), a urlset elsewhere."""
    articles = web.articles(paper)
    if paper == "baoA":
        recent, archive = _recent(articles)
        newest_recent = recent[0].published_at if recent else None
        newest_archive = archive[0].published_at if archive else None
        return sitemap_index(
            [
                (web.url(paper, "/sitemaps/recent.xml"), newest_recent),
                (web.url(paper, "/sitemaps/archive.xml"), newest_archive),
                (web.url(paper, "/sitemap-news.xml"), utcnow()),
            ]
        )
    entries: list[tuple[str, datetime | None]] = []
    if paper == "baoB":
        # Planted off-site entries: a crawler must not follow them.
        entries += [(url, None) for _a, url, _t in web.listing_entries(paper)[:2]]
    if paper == "baoC":
        entries += [(url, None) for url in web.trap_urls().values()]
    for a in articles:
        # Some real sitemaps leave lastmod out; undated entries must still be crawled.
        dated = paper != "baoC" or a.number % 2 == 0
        entries.append((web.article_url(a), a.published_at if dated else None))
    return urlset(entries)


def sitemap_part(web: Catalogue, paper: str, path: str) -> bytes:
    """baoA's /sitemaps/recent.xml (last 7 days) and /sitemaps/archive.xml (older)."""
    recent, archive = _recent(web.articles(paper))
    chosen = recent if path.endswith("recent.xml") else archive
    return urlset([(web.article_url(a), a.published_at) for a in chosen])


def news_sitemap(web: Catalogue, paper: str, path: str) -> bytes:
    """The Google News sitemap: articles of the last 48 hours with news:publication_date."""
    cutoff = utcnow() - NEWS_WINDOW
    return news_urlset(
        [
            NewsEntry(web.article_url(a), web.paper_name(paper), a.published_at, a.title)
            for a in web.articles(paper)
            if a.published_at >= cutoff
        ]
    )


def rss(web: Catalogue, paper: str) -> bytes:
    """RSS 2.0 of the newest articles, with the full text in content:encoded."""
    articles = [a for a in web.articles(paper) if a.robots_allowed][:FEED_SIZE]
    items = [
        FeedItem(
            title=a.title,
            link=web.article_url(a),
            published_at=a.published_at,
            lead=a.lead,
            paragraphs=a.paragraphs,
            author=a.author,
        )
        for a in articles
    ]
    return rss_feed(
        title=f"{web.paper_name(paper)} – Tin mới",
        link=f"{web.base_url(paper)}/",
        description="Tin giáo dục",
        items=items,
    )
