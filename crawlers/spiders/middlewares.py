"""Downloader middleware of the site crawler: the SSRF guard."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from crawlers.http import BlockedURLError, FetchError, check_public_url


class BlockedRequest(IgnoreRequest):
    """A request refused by the SSRF guard."""


class PublicUrlGuard:
    """Refuses every request (robots.txt, sitemaps, redirects included) whose host is not a
    public address, unless DIEMTIN_ALLOW_PRIVATE_URLS is set.

    Scrapy sends a redirect's target back through the downloader middlewares, so the check
    covers every hop. Verdicts are cached per origin for the crawl's short life."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublicUrlGuard:
        return cls(crawler.settings.getbool("DIEMTIN_ALLOW_PRIVATE_URLS"))

    def process_request(self, request: Request, spider: Any = None) -> None:
        """Raise BlockedRequest (an IgnoreRequest) for a non-public or non-http(s) URL."""
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._verdicts:
            try:
                check_public_url(request.url, self.allow_private)
                self._verdicts[origin] = None
            except BlockedURLError as exc:
                self._verdicts[origin] = str(exc)
            except FetchError as exc:
                # DNS trouble may pass; not cached, and the request is not sent blind.
                raise BlockedRequest(str(exc)) from exc
        verdict = self._verdicts[origin]
        if verdict is not None:
            raise BlockedRequest(f"blocked {request.url}: {verdict}")
