"""Polite, bounded HTTP GET for crawlers: real User-Agent, timeouts, a size cap, conditional
GET, manual redirects with an SSRF check on every hop."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from core.settings import Settings

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# 408/425/429 and server errors are worth another try later; other 4xx will not heal by waiting.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# A server that trickles one byte per read never trips the per-read timeout; this bounds
# the whole fetch to a few timeouts' worth of wall time.
TOTAL_DEADLINE_FACTOR = 3
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


class FetchError(Exception):
    """A fetch failed; `retryable` says whether trying again later may succeed."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class BlockedURLError(FetchError):
    """The URL is not allowed: wrong scheme, or it points at a private/internal address."""


@dataclass
class FetchResult:
    """One completed GET (after redirects)."""

    url: str
    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, if the server sent one."""
        return self.headers.get("content-type")


def _is_blocked_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # IPv4-mapped IPv6 (::ffff:127.0.0.1) must be judged by its IPv4 part.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        # Catches the remaining special-purpose ranges, e.g. carrier-grade NAT 100.64/10.
        or not ip.is_global
    )


def check_public_url(url: str, allow_private: bool = False) -> None:
    """Raise BlockedURLError unless `url` is http(s) and its host resolves to public addresses.

    Resolution failures raise a retryable FetchError (DNS may be down for a moment)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURLError(f"invalid URL {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise BlockedURLError(f"only http and https URLs are allowed, not {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise BlockedURLError(f"URL has no host: {url!r}")
    if allow_private:
        return
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}", retryable=True) from exc
    for info in infos:
        # Scoped IPv6 addresses come back as 'fe80::1%eth0'.
        address = str(info[4][0]).split("%", 1)[0]
        ip = ipaddress.ip_address(address)
        if _is_blocked_ip(ip):
            raise BlockedURLError(f"refusing {host!r}: it resolves to non-public address {ip}")


def _request_headers(
    settings: Settings, etag: str | None, last_modified: str | None
) -> dict[str, str]:
    headers = {
        "User-Agent": settings.http_user_agent,
        "Accept": ACCEPT,
        "Accept-Language": "vi,en;q=0.5",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float, url: str) -> bytes:
    declared = response.headers.get("content-length")
    # Content-Length counts encoded bytes, so it can only rule out, never prove, a small body.
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"response too large: {declared} bytes declared (limit {max_bytes})")
    chunks: list[bytes] = []
    size = 0
    # iter_bytes yields decoded bytes, so a gzip bomb is caught by the same count.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"response too large: over {max_bytes} bytes from {url}")
        if time.monotonic() > deadline:
            raise FetchError(f"timed out reading {url}", retryable=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _status_error(status: int, url: str) -> FetchError:
    retryable = status in RETRYABLE_STATUSES or status >= 500
    return FetchError(f"HTTP {status} from {url}", status=status, retryable=retryable)


def fetch(
    url: str,
    *,
    settings: Settings,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET `url` with the crawler's limits; a 304 gives `not_modified=True`.

    Raises FetchError (BlockedURLError for refused URLs) with a message fit for a source's
    last_error."""
    timeout = settings.http_timeout_s
    deadline = time.monotonic() + timeout * TOTAL_DEADLINE_FACTOR
    headers = _request_headers(settings, etag, last_modified)
    seen: set[str] = set()
    current = url
    # trust_env=False: a proxy from the environment would bypass the address check below.
    with httpx.Client(
        timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            # Checked on every hop: a public page may redirect to an internal address.
            # (The address can still change between this check and the connect; accepted
            # for now, pinning the resolved address needs a custom transport.)
            check_public_url(current, settings.allow_private_urls)
            seen.add(current)
            try:
                with client.stream("GET", current, headers=headers) as response:
                    status = response.status_code
                    if status in REDIRECT_STATUSES:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(f"HTTP {status} without Location from {current}")
                        target = urljoin(current, location)
                        if target in seen:
                            raise FetchError(f"redirect loop: {current} -> {target}")
                        current = target
                        continue
                    if status == 304:
                        return FetchResult(
                            url=current,
                            status=status,
                            headers=dict(response.headers),
                            etag=response.headers.get("etag") or etag,
                            last_modified=response.headers.get("last-modified") or last_modified,
                            not_modified=True,
                        )
                    if status >= 400:
                        raise _status_error(status, current)
                    content = _read_capped(response, settings.http_max_bytes, deadline, current)
                    return FetchResult(
                        url=current,
                        status=status,
                        content=content,
                        headers=dict(response.headers),
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                    )
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"timed out after {timeout:g}s fetching {current}", retryable=True
                ) from exc
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise BlockedURLError(f"invalid URL {current!r}: {exc}") from exc
            except httpx.HTTPError as exc:
                # DecodingError (corrupt gzip) and transport errors land here.
                detail = str(exc) or type(exc).__name__
                raise FetchError(
                    f"network error fetching {current}: {detail}", retryable=True
                ) from exc
    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS}) starting at {url}")
