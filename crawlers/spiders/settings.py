"""Scrapy settings of a site crawl: polite by default (robots.txt, AutoThrottle, our
User-Agent), bounded (size, time, retries, redirects), quiet, and with nothing kept between
crawls (no HTTP cache, no cookies, no telnet console)."""

from __future__ import annotations

from typing import Any

from crawlers.spiders.config import CrawlJob

# Worth another try later: throttling and server trouble.
RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 522, 524]


def scrapy_settings(job: CrawlJob) -> dict[str, Any]:
    """The Scrapy settings for one crawl job."""
    return {
        "BOT_NAME": "diemtin",
        "USER_AGENT": job.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": job.start_delay_s,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": job.target_concurrency,
        "DOWNLOAD_DELAY": 0.0,
        "CONCURRENT_REQUESTS": max(16, job.concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": job.concurrency,
        "DOWNLOAD_MAXSIZE": job.max_bytes,
        "DOWNLOAD_WARNSIZE": job.max_bytes // 2,
        "DOWNLOAD_TIMEOUT": job.download_timeout_s,
        "DNS_TIMEOUT": min(job.download_timeout_s, 20.0),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "REDIRECT_ENABLED": True,
        "REDIRECT_MAX_TIMES": 5,
        "HTTPCACHE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "MEMUSAGE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        # The crawl ends itself a little before the parent's hard timeout, keeping its items.
        "CLOSESPIDER_TIMEOUT": max(1.0, job.timeout_s - 5.0),
        "DOWNLOADER_MIDDLEWARES": {
            "crawlers.spiders.middlewares.PublicUrlGuard": 50,
            # We never send credentials; one middleware less on every request.
            "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
        },
        # A proxy from the environment would fetch on our behalf and make the address check
        # meaningless (crawlers.http sets trust_env=False for the same reason).
        "HTTPPROXY_ENABLED": False,
        # Periodic "Crawled N pages" lines are below LOG_LEVEL anyway.
        "EXTENSIONS": {"scrapy.extensions.logstats.LogStats": None},
        # The SSRF guard: the middleware above refuses a URL with a reason, this resolver
        # checks every address Twisted connects to (crawlers/spiders/middlewares.py).
        "TWISTED_DNS_RESOLVER": "crawlers.spiders.middlewares.PublicAddressResolver",
        "DIEMTIN_ALLOWED_PRIVATE_NETWORKS": job.allowed_private_networks,
    }
