"""What one site crawl needs, shared by the parent (SiteConnector) and the child process
(crawlers.spiders.run): the source's config, the crawler's limits from Settings, and times."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.settings import Settings

# Keys of Source.config for kind "site".
CONFIG_KEYS = frozenset(
    {
        "sitemaps", "listings", "article_selector", "next_selector", "max_pages", "since_days",
        "concurrency", "max_articles", "timeout_s", "start_delay_s", "target_concurrency",
    }
)  # fmt: skip
DEFAULT_TIMEOUT_S = 600.0
# Articles older than this are skipped unless the config says otherwise (0 = no limit).
DEFAULT_SINCE_DAYS = 2.0


def site_of(url: str) -> str:
    """host[:port] without www./m./amp.: two URLs with the same site_of are one site."""
    netloc = urlsplit(url).netloc.lower()
    netloc = netloc.rsplit("@", 1)[-1]
    for prefix in ("www.", "m.", "amp."):
        if netloc.startswith(prefix):
            return netloc[len(prefix) :]
    return netloc


def _str_list(config: dict[str, Any], key: str) -> list[str]:
    value = config.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"site config {key!r} must be a list of URLs")
    return [v.strip() for v in value]


def _number(config: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = config.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"site config {key!r} must be a number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"site config {key!r} must be between {low:g} and {high:g}")
    return float(value)


@dataclass
class CrawlJob:
    """One crawl of one news site, as handed to the child process."""

    source_url: str
    sitemaps: list[str] = field(default_factory=list)
    listings: list[str] = field(default_factory=list)
    article_selector: str = ""
    next_selector: str = ""
    max_pages: int = 5
    since: str | None = None  # ISO UTC; older articles are skipped
    now: str = ""  # ISO UTC; anchors relative dates on pages
    concurrency: int = 4
    max_articles: int = 1000
    timeout_s: float = DEFAULT_TIMEOUT_S
    # AutoThrottle: the first delay, and how many requests in parallel it aims for.
    start_delay_s: float = 1.0
    target_concurrency: float = 2.0
    user_agent: str = ""
    download_timeout_s: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    # Private networks (IPs/CIDRs) the crawl may reach; see core/net.py.
    allowed_private_networks: list[str] = field(default_factory=list)

    @classmethod
    def from_source(
        cls, url: str, config: dict[str, Any], settings: Settings, now: datetime
    ) -> CrawlJob:
        """A job from a Source's URL and config; raises ValueError on a config it cannot use."""
        config = dict(config or {})
        unknown = set(config) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown site config keys: {', '.join(sorted(unknown))}")
        sitemaps, listings = _str_list(config, "sitemaps"), _str_list(config, "listings")
        selector = str(config.get("article_selector") or "").strip()
        if listings and not selector:
            raise ValueError("site config has listings but no 'article_selector'")
        if not sitemaps and not listings:
            # Only a URL: a sitemap URL as it is; anything else, the sitemaps that the site's
            # robots.txt names.
            parts = urlsplit(url)
            if parts.path.endswith((".xml", ".xml.gz")):
                sitemaps = [url]
            else:
                sitemaps = [f"{parts.scheme}://{parts.netloc}/robots.txt"]
        # A news sitemap index can list years of articles; a poll wants the recent ones.
        days = _number(config, "since_days", DEFAULT_SINCE_DAYS, 0, 3650)
        since = (now - timedelta(days=days)).isoformat() if days > 0 else None
        return cls(
            source_url=url,
            sitemaps=sitemaps,
            listings=listings,
            article_selector=selector,
            next_selector=str(config.get("next_selector") or "").strip(),
            max_pages=int(_number(config, "max_pages", 5, 1, 1000)),
            since=since,
            now=now.isoformat(),
            concurrency=int(_number(config, "concurrency", 4, 1, 64)),
            max_articles=int(_number(config, "max_articles", 1000, 1, 100_000)),
            timeout_s=_number(config, "timeout_s", DEFAULT_TIMEOUT_S, 5, 3600),
            start_delay_s=_number(config, "start_delay_s", 1.0, 0, 60),
            target_concurrency=_number(config, "target_concurrency", 2.0, 0.1, 64),
            user_agent=settings.http.user_agent,
            download_timeout_s=settings.http.timeout_s,
            max_bytes=settings.http.max_bytes,
            allowed_private_networks=[str(n) for n in settings.http.private_networks],
        )

    @property
    def start_urls(self) -> list[str]:
        """Sitemaps and first listing pages."""
        return self.sitemaps + self.listings

    @property
    def sites(self) -> set[str]:
        """The sites this crawl may fetch articles from."""
        return {site_of(u) for u in [self.source_url, *self.start_urls]}

    def since_dt(self) -> datetime | None:
        """`since` as a datetime."""
        return datetime.fromisoformat(self.since) if self.since else None

    def now_dt(self) -> datetime:
        """`now` as a datetime."""
        return datetime.fromisoformat(self.now)

    def to_json(self) -> str:
        """The job as JSON (for the child's --config)."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CrawlJob:
        """The job back from to_json()."""
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
