"""The site crawler's SSRF guard, in two parts: a downloader middleware that refuses a request
(robots.txt, sitemaps, redirects included) before it is sent, with a clear reason, and the
DNS resolver Twisted connects through, which checks every address it hands out, so the
connection goes to the address that was checked (core/net.py has the rule)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from twisted.internet import defer, threads
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from core.net import (
    BlockedURLError,
    FetchError,
    IPNetwork,
    check_public_url,
    parse_networks,
    resolve_checked,
)

log = logging.getLogger(__name__)

# The Scrapy setting that carries the job's allow-list (a list of IPs/CIDRs).
NETWORKS_SETTING = "DIEMTIN_ALLOWED_PRIVATE_NETWORKS"
# Names the resolver refused, with why (one crawl per process): a refused name is not looked
# up again, and the guard turns Twisted's bare "Couldn't find the hostname" into the reason.
_refused: dict[str, str] = {}


class BlockedRequest(IgnoreRequest):
    """A request refused by the SSRF guard."""


class PublicUrlGuard:
    """Refuses every request whose URL is not http(s) or whose host is not a public address
    (or one in the allow-list).

    Scrapy sends a redirect's target back through the downloader middlewares, so the check
    covers every hop. Verdicts are cached per origin for the crawl's short life; the resolver
    below checks again at connect time, so a cached verdict cannot be rebound."""

    def __init__(self, allowed: Iterable[IPNetwork] = ()) -> None:
        self.allowed = tuple(allowed)
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PublicUrlGuard:
        return cls(parse_networks(crawler.settings.getlist(NETWORKS_SETTING)))

    def process_request(self, request: Request, spider: Any = None) -> None:
        """Raise BlockedRequest (an IgnoreRequest) for a non-public or non-http(s) URL."""
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._verdicts:
            try:
                check_public_url(request.url, self.allowed)
                self._verdicts[origin] = None
            except BlockedURLError as exc:
                self._verdicts[origin] = str(exc)
            except FetchError as exc:
                # DNS trouble may pass; not cached, and the request is not sent blind.
                raise BlockedRequest(str(exc)) from exc
        verdict = self._verdicts[origin]
        if verdict is not None:
            raise BlockedRequest(f"blocked {request.url}: {verdict}")

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        """Give a lookup the resolver refused its real reason (BlockedRequest)."""
        host = urlsplit(request.url).hostname
        # Scrapy re-raises Twisted's DNSLookupError as its own CannotResolveHostError.
        lookup_failed = isinstance(exception, DNSLookupError | CannotResolveHostError)
        if lookup_failed and host in _refused:
            raise BlockedRequest(f"blocked {request.url}: {_refused[host]}") from exception


class RefusedAddressError(DNSLookupError):
    """A name that resolves to a refused address; to Twisted, a failed lookup."""


@implementer(IResolverSimple)
class PublicAddressResolver:
    """Twisted's resolver for the crawl (TWISTED_DNS_RESOLVER): each name is resolved once,
    every address is checked, and the first checked IPv4 address is what Twisted connects
    to for the rest of the crawl (pinned: a rebinding name gets no second answer)."""

    def __init__(self, reactor: Any, allowed: Sequence[IPNetwork], timeout: float) -> None:
        self.reactor = reactor
        self.allowed = tuple(allowed)
        self.timeout = timeout
        self._pinned: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> PublicAddressResolver:
        # Scrapy passes the CrawlerProcess here; only its settings are read.
        settings = crawler.settings
        return cls(
            reactor,
            parse_networks(settings.getlist(NETWORKS_SETTING)),
            settings.getfloat("DNS_TIMEOUT"),
        )

    def install_on_reactor(self) -> None:
        """Make this the reactor's resolver (HostnameEndpoint reaches it through
        reactor.nameResolver, which wraps it)."""
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:  # noqa: N802
        """The checked address of `name`; fails with RefusedAddressError when refused."""
        if name in self._pinned:
            return defer.succeed(self._pinned[name])
        if name in _refused:
            return defer.fail(RefusedAddressError(name, _refused[name]))
        d = threads.deferToThreadPool(
            self.reactor, self.reactor.getThreadPool(), self._lookup, name
        )
        d.addTimeout(self.timeout, self.reactor)
        return d

    def _lookup(self, name: str) -> str:
        try:
            addresses = resolve_checked(name, 80, self.allowed)
        except FetchError as exc:
            # Logged here because Twisted reports only "Couldn't find the hostname".
            log.warning("not connecting to %s: %s", name, exc)
            if isinstance(exc, BlockedURLError):
                _refused[name] = exc.message
            raise RefusedAddressError(name, exc.message) from exc
        ipv4 = [a for a in addresses if ":" not in a]
        if not ipv4:
            # Scrapy's default HTTP handler connects over IPv4 only.
            raise DNSLookupError(name, "no IPv4 address")
        self._pinned[name] = ipv4[0]
        return ipv4[0]
