"""Shared by the social connectors: GET for third-party JSON APIs (Graph, YouTube) with the
crawler's limits and SSRF check, keeping the error body (it says why) and keeping secrets in
query strings out of every error message; Source.config reading; time and title helpers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from core.models import utcnow
from core.net import pinned_client
from core.settings import Settings
from crawlers.http import FetchError, check_public_url

ACCEPT_JSON = "application/json"
# As in crawlers.http: a trickling server must not hold a crawl for more than a few timeouts.
TOTAL_DEADLINE_FACTOR = 3
# Retry-After beyond a day is a misconfigured server, not advice worth following.
MAX_RETRY_AFTER_S = 86_400


class RateLimitedError(FetchError):
    """The API asked us to slow down; `retry_after_s` is its hint when it gave one."""

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: int | None):
        super().__init__(message, status=status, retryable=True)
        self.retry_after_s = retry_after_s
        # The name crawlers.http gives the same hint, so callers can read either error alike.
        self.retry_after = float(retry_after_s) if retry_after_s is not None else None


@dataclass
class ApiResponse:
    """One API answer, whatever its status; headers have lowercase names."""

    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self, what: str) -> dict[str, Any]:
        """The body as a JSON object; FetchError (retryable) when it is not one."""
        try:
            data = json.loads(self.content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            # Truncated answers and proxy error pages heal by themselves; retry later.
            raise FetchError(
                f"{what}: malformed JSON in the HTTP {self.status} answer ({exc})",
                status=self.status,
                retryable=True,
            ) from exc
        if not isinstance(data, dict):
            raise FetchError(
                f"{what}: expected a JSON object, got {type(data).__name__}",
                status=self.status,
                retryable=True,
            )
        return data


def status_error(status: int, what: str, api: str, retry_after: int | None) -> FetchError:
    """The error for an answer that carries no API error body: 429 waits, 5xx retries."""
    if status == 429:
        wait = f"; retry after {retry_after} s" if retry_after else ""
        return RateLimitedError(
            f"{what}: {api} rate limit (HTTP 429){wait}", status=status, retry_after_s=retry_after
        )
    return FetchError(
        f"{what}: HTTP {status} from the {api}", status=status, retryable=status >= 500
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (token, key) replaced by '***'."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after_seconds(value: str | None) -> int | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, min(int((when - utcnow()).total_seconds()), MAX_RETRY_AFTER_S))


def api_get(
    base: str,
    params: Mapping[str, str | int],
    *,
    settings: Settings,
    secrets: Iterable[str] = (),
) -> ApiResponse:
    """GET `base?params`; any HTTP status comes back (the caller reads the API's error JSON).

    Network trouble, an oversized body or a refused address raise FetchError with the
    secrets redacted."""
    secrets = tuple(s for s in secrets if s)
    url = f"{base}?{urlencode(params)}" if params else base
    shown = redact(url, secrets)
    try:
        check_public_url(url, settings.http.private_networks)
    except FetchError as exc:
        exc.message = redact(exc.message, secrets)
        exc.args = (exc.message,)
        raise
    timeout = settings.http.timeout_s
    deadline = time.monotonic() + timeout * TOTAL_DEADLINE_FACTOR
    headers = {"User-Agent": settings.http.user_agent, "Accept": ACCEPT_JSON}
    limit = settings.http.max_bytes
    # No redirects: an API that redirects is misconfigured, and following one would carry the
    # token in the query string to wherever it points. The pinned client connects only to
    # the address it checked and ignores proxies, as in crawlers.http.
    try:
        with (
            pinned_client(
                settings.http.private_networks,
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,
            ) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"response too large: over {limit} bytes from {shown}")
                if time.monotonic() > deadline:
                    raise FetchError(f"timed out reading {shown}", retryable=True)
                chunks.append(chunk)
            return ApiResponse(
                url=shown,
                status=response.status_code,
                content=b"".join(chunks),
                headers={k.lower(): v for k, v in response.headers.items()},
            )
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out after {timeout:g}s fetching {shown}", retryable=True) from exc
    except httpx.HTTPError as exc:
        detail = redact(str(exc) or type(exc).__name__, secrets)
        raise FetchError(f"network error fetching {shown}: {detail}", retryable=True) from exc


# ------------------------------------------------------------------ shared helpers


def config_int(config: Mapping[str, Any], name: str, default: int, *, low: int, high: int) -> int:
    """An integer setting of Source.config within [low, high]; FetchError when it is not one."""
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FetchError(f"source config {name!r} must be a whole number, not {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise FetchError(f"source config {name!r} must be a whole number, not {value!r}") from None
    return max(low, min(number, high))


def config_str(config: Mapping[str, Any], name: str, default: str | None = None) -> str:
    """A required text setting of Source.config; FetchError naming it when it is missing."""
    value = config.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise FetchError(f"source config needs {name!r}")
    return value.strip()


def parse_time(value: Any, default_tz: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 time (any offset, 'Z', '+0700') as aware UTC; naive times are in
    `default_tz`. None when the value is missing or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed.astimezone(UTC)


def headline(text: str, limit: int = 120) -> str:
    """A title for an untitled post: its first line, cut at a word boundary."""
    first = text.strip().split("\n", 1)[0].strip()
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.-") or first[:limit]
    return cut + "…"


def count(value: Any) -> int | None:
    """A non-negative count from an API (YouTube sends strings), or None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None
