"""The fixture press web's catalogue: its articles, their addresses on each paper, and the
truth an extractor should find on every page; `PressWeb` serves it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.models import utcnow
from core.settings import Settings, get_settings
from fixtureweb.articles import (
    PAPER_KEYS,
    FixtureArticle,
    load_extra_articles,
    load_fixture_articles,
)
from fixtureweb.papers import PAPERS
from fixtureweb.serve import Reply

TRAP_PATHS = {"malformed": "/loi-hien-thi-post9001.html", "huge": "/bai-rat-dai-post9002.html"}
# Off-site links planted in Tin Nhanh Bến Nghé's listing and sitemap: a private address
# (an SSRF attempt) and, added at run time, an article of another paper.
PRIVATE_LINK = "http://10.11.12.13/bai-viet-noi-bo.html"


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


class Catalogue:
    """Three fixture newspapers' articles and addresses; `PressWeb` serves them."""

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
        # http://127.0.0.1:<port> of each paper once served.
        self._base_urls: dict[str, str] = {}
        self._requests: dict[str, list[str]] = {k: [] for k in PAPER_KEYS}
        # Replies by (paper, raw path), as rendering the listings is not free; publish() clears it.
        self._cache: dict[tuple[str, str], Reply] = {}

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
        if paper not in self._base_urls:
            raise RuntimeError("the press web is not running")
        return self._base_urls[paper]

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
