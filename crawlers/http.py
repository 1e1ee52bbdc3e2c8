"""Polite, bounded HTTP GET for crawlers: real User-Agent, timeouts, a size cap, conditional
GET, manual redirects with an SSRF check on every hop, and bounded decompression.

FetchError, BlockedURLError and check_public_url live in core.net (webhooks use them too);
they are re-exported here for the crawlers."""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urljoin

import httpx

from core.net import BlockedURLError, FetchError, check_public_url, pinned_client
from core.settings import Settings
from crawlers.encoding import Decoded, charset_from_content_type, decode

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# 408/425/429 and server errors are worth another try later; other 4xx will not heal by waiting.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# A server that trickles one byte per read never trips the per-read timeout; this bounds
# the whole fetch to a few timeouts' worth of wall time.
TOTAL_DEADLINE_FACTOR = 3
# We decompress ourselves (see _decoded_chunks), so only codings we can bound are offered.
ACCEPT_ENCODING = "gzip, deflate"
# zlib output per step: a bomb never inflates more than this beyond the size limit at once.
INFLATE_STEP = 256 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


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

    def decoded(self) -> Decoded:
        """The body decoded (charset from header, document or content; TCVN3/VNI repaired)."""
        return decode(self.content, charset_from_content_type(self.content_type))

    def text(self) -> str:
        """The body as Unicode (NFC) text; see crawlers.encoding."""
        return self.decoded().text


def _request_headers(
    settings: Settings, etag: str | None, last_modified: str | None
) -> dict[str, str]:
    headers = {
        "User-Agent": settings.http.user_agent,
        "Accept": ACCEPT,
        "Accept-Language": "vi,en;q=0.5",
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _decompressor(coding: str, first: bytes) -> zlib._Decompress:
    if coding == "gzip":
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
    wrapped = len(first) >= 2 and (first[0] << 8 | first[1]) % 31 == 0 and first[0] & 0x0F == 8
    return zlib.decompressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


def _decoded_chunks(raw: Iterator[bytes], coding: str, url: str) -> Iterator[bytes]:
    """The body's decoded bytes, inflated at most INFLATE_STEP at a time.

    httpx would inflate each network chunk whole (64 KB of a gzip bomb is 64 MB); zlib's
    max_length lets the caller's size check stop a bomb after one step."""
    if coding in ("", "identity"):
        yield from raw
        return
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported Content-Encoding {coding!r} from {url}")
    coding = "gzip" if coding == "x-gzip" else coding
    inflater: zlib._Decompress | None = None
    finished = False
    try:
        for chunk in raw:
            data = chunk
            while data and not finished:
                if inflater is None:
                    inflater = _decompressor(coding, data)
                yield inflater.decompress(data, INFLATE_STEP)
                data = inflater.unconsumed_tail
                if not data and inflater.eof:
                    data, inflater = inflater.unused_data, None
                    # A gzip body may hold several members; anything else after the end of
                    # the stream is garbage, ignored as browsers do.
                    finished = not (coding == "gzip" and data.startswith(b"\x1f\x8b"))
        if inflater is not None:
            yield inflater.flush()
    except zlib.error as exc:
        raise FetchError(f"corrupt {coding} body from {url}: {exc}", retryable=True) from exc


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float, url: str) -> bytes:
    declared = response.headers.get("content-length")
    # Content-Length counts encoded bytes, so it can only rule out, never prove, a small body.
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"response too large: {declared} bytes declared (limit {max_bytes})")
    coding = response.headers.get("content-encoding", "").strip().lower()
    chunks: list[bytes] = []
    size = 0
    # Decoded bytes are counted, so a gzip bomb is caught by the same limit.
    for chunk in _decoded_chunks(response.iter_raw(), coding, url):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(
                f"response too large: over {max_bytes} bytes from {url}"
                + (f" after {coding} decompression" if coding not in ("", "identity") else "")
            )
        if time.monotonic() > deadline:
            raise FetchError(f"timed out reading {url}", retryable=True)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _status_error(status: int, url: str, headers: httpx.Headers | None = None) -> FetchError:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    where = f"HTTP {status}{' ' + reason if reason else ''} from {url}"
    retryable = status in RETRYABLE_STATUSES or status >= 500
    retry_after = parse_retry_after(headers.get("retry-after")) if headers else None
    if status in (401, 403):
        message = (
            f"{where}: the site refuses the crawler (login required, or our User-Agent or "
            "address is blocked); not retried until an admin checks the source"
        )
    elif status in (404, 410):
        message = f"{where}: the address no longer exists; check the source URL"
    elif retryable and retry_after is not None:
        message = f"{where}; the server asks us to retry after {retry_after:g}s"
    else:
        message = where
    return FetchError(message, status=status, retryable=retryable, retry_after=retry_after)


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
    timeout = settings.http.timeout_s
    deadline = time.monotonic() + timeout * TOTAL_DEADLINE_FACTOR
    headers = _request_headers(settings, etag, last_modified)
    seen: set[str] = set()
    current = url
    allowed = settings.http.private_networks
    # The pinned client resolves each host once, checks every address and connects to a
    # checked one, so neither a redirect nor a second DNS answer (rebinding) gets past it.
    with pinned_client(allowed, timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            # Scheme and address checked before each hop too, for a clear error on a
            # redirect to file:// or to an internal address before anything is sent.
            check_public_url(current, allowed)
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
                        raise _status_error(status, current, response.headers)
                    content = _read_capped(response, settings.http.max_bytes, deadline, current)
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
                # Transport errors (refused, reset, protocol) land here.
                detail = str(exc) or type(exc).__name__
                raise FetchError(
                    f"network error fetching {current}: {detail}", retryable=True
                ) from exc
    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS}) starting at {url}")
