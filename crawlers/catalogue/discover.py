"""How to crawl an outlet known only by its homepage: a feed the homepage links to, else the
sitemaps robots.txt names or /sitemap.xml, else the homepage itself read as a listing page.

An outlet is never dropped for want of a feed: the last resort is a `site` source whose
listing is the homepage, so it is crawled, and an admin can tune it later."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from core.models import utcnow
from core.settings import Settings
from crawlers.http import FetchError, fetch
from crawlers.spiders.sitemaps import parse_sitemap, sitemaps_in_robots

log = logging.getLogger(__name__)

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
# Article links of Vietnamese news sites end in .html/.htm (slug + id) on most CMSs; where
# they do not, headlines sit in <article>/<h2>/<h3>.
HTML_LINKS = "a[href$='.html'], a[href$='.htm']"
HEADLINE_LINKS = "article a[href], h2 a[href], h3 a[href]"
MIN_HTML_LINKS = 3


@dataclass(frozen=True, slots=True)
class Found:
    """How to crawl one outlet: Source.kind, Source.url, Source.config, and how it was found."""

    kind: str
    url: str
    config: dict[str, Any] = field(default_factory=dict)
    how: str = ""


def _site(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _feed_links(homepage: str, html: str) -> list[str]:
    page = Selector(text=html)
    out: list[str] = []
    for node in page.css("link[rel~=alternate][href]"):
        ctype = (node.attrib.get("type") or "").lower().strip()
        if ctype in FEED_TYPES:
            url = urljoin(homepage, node.attrib["href"].strip())
            if url not in out:
                out.append(url)
    return out


def _is_feed(url: str, settings: Settings) -> bool:
    try:
        body = fetch(url, settings=settings).content[:4096].lower()
    except FetchError as exc:
        log.info("feed %s not usable: %s", url, exc)
        return False
    return b"<rss" in body or b"<feed" in body or b"<rdf:rdf" in body


def _usable_sitemap(url: str, settings: Settings) -> bool:
    try:
        result = fetch(url, settings=settings)
    except FetchError:
        return False
    return parse_sitemap(result.content, now=utcnow()).kind in ("index", "urlset")


def listing_selector(homepage: str, html: str) -> str:
    """The CSS selector that picks the homepage's article links."""
    page = Selector(text=html)
    site = _site(homepage)
    html_links = {
        urljoin(homepage, href)
        for href in page.css(f"{HTML_LINKS}").xpath("@href").getall()
        if _site(urljoin(homepage, href)) == site
    }
    return HTML_LINKS if len(html_links) >= MIN_HTML_LINKS else HEADLINE_LINKS


def discover(homepage: str, *, settings: Settings) -> Found:
    """How to crawl the outlet at `homepage` (never raises for an unreachable site)."""
    listing = {"listings": [homepage]}
    try:
        page = fetch(homepage, settings=settings)
    except FetchError as exc:
        # Unreachable now (no network on the install day, a site down): crawl the homepage
        # as a listing of headline links; the source's health page shows what happens next.
        return Found(
            "site",
            homepage,
            {**listing, "article_selector": HEADLINE_LINKS},
            f"trang chủ không truy cập được lúc đăng ký ({exc}); thu thập từ trang chủ",
        )
    html = page.text()
    for feed in _feed_links(page.url, html):
        if _is_feed(feed, settings):
            return Found("rss", feed, {}, f"nguồn RSS/Atom khai báo trên trang chủ: {feed}")
    root = f"{urlsplit(page.url).scheme}://{urlsplit(page.url).netloc}"
    try:
        robots = fetch(f"{root}/robots.txt", settings=settings).text()
    except FetchError:
        robots = ""
    named = [u for u in sitemaps_in_robots(robots, f"{root}/robots.txt")]
    usable = [u for u in named if _usable_sitemap(u, settings)]
    if usable:
        return Found("site", homepage, {"sitemaps": usable}, "sitemap khai báo trong robots.txt")
    if _usable_sitemap(f"{root}/sitemap.xml", settings):
        return Found("site", homepage, {"sitemaps": [f"{root}/sitemap.xml"]}, "sitemap.xml")
    return Found(
        "site",
        homepage,
        {**listing, "article_selector": listing_selector(page.url, html)},
        "không có RSS hay sitemap: thu thập các liên kết bài viết trên trang chủ",
    )
