"""crawlers.http against real local servers: limits, redirects, timeouts, conditional GET,
status errors and the SSRF guard."""

from __future__ import annotations

import gzip
import socket

import pytest

from core.settings import Settings
from crawlers.http import BlockedURLError, FetchError, check_public_url, fetch
from tests.crawlers.conftest import LocalServer, Reply


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fetch_returns_body_validators_and_sends_user_agent(
    server: LocalServer, settings: Settings
) -> None:
    # given
    url = server.route(
        "/feed.xml",
        Reply(
            body=b"<rss/>",
            headers={"ETag": '"v1"', "Last-Modified": "Mon, 09 Sep 2024 03:00:00 GMT"},
        ),
    )
    # when
    result = fetch(url, settings=settings)
    # then
    assert result.status == 200 and result.content == b"<rss/>"
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 09 Sep 2024 03:00:00 GMT"
    assert not result.not_modified
    assert server.requests[0]["headers"]["User-Agent"] == settings.http_user_agent


def test_body_over_the_size_limit_is_refused(server: LocalServer, settings: Settings) -> None:
    # given: no Content-Length, so only counting the stream can catch it
    small = settings.model_copy(update={"http_max_bytes": 1024})
    url = server.route("/big", Reply(body=b"x" * 5000, content_length=False))
    # when
    with pytest.raises(FetchError) as err:
        fetch(url, settings=small)
    # then
    assert "too large" in str(err.value)
    assert not err.value.retryable


def test_declared_length_over_the_limit_is_refused_before_reading(
    server: LocalServer, settings: Settings
) -> None:
    # given
    small = settings.model_copy(update={"http_max_bytes": 1024})
    url = server.route("/declared", Reply(body=b"y" * 4096))
    # when / then
    with pytest.raises(FetchError, match="4096 bytes declared"):
        fetch(url, settings=small)


def test_decompressed_size_is_what_counts(server: LocalServer, settings: Settings) -> None:
    # given: 200 KB of zeros gzip to a few hundred bytes
    small = settings.model_copy(update={"http_max_bytes": 10_000})
    bomb = gzip.compress(b"\0" * 200_000)
    assert len(bomb) < 10_000
    url = server.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    # when / then
    with pytest.raises(FetchError, match="too large"):
        fetch(url, settings=small)


def test_redirect_loop_is_reported(server: LocalServer, settings: Settings) -> None:
    # given
    server.route("/a", Reply(302, headers={"Location": "/b"}))
    url = server.route("/b", Reply(301, headers={"Location": server.url("/a")}))
    # when / then
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(url, settings=settings)


def test_five_redirects_are_followed_six_are_too_many(
    server: LocalServer, settings: Settings
) -> None:
    # given: /r6 -> /r5 -> ... -> /r0
    server.route("/r0", Reply(body=b"done"))
    for i in range(1, 7):
        server.route(f"/r{i}", Reply(307, headers={"Location": f"/r{i - 1}"}))
    # when
    result = fetch(server.url("/r5"), settings=settings)
    # then
    assert result.content == b"done" and result.url == server.url("/r0")
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(server.url("/r6"), settings=settings)


def test_slow_server_times_out_as_retryable(server: LocalServer, settings: Settings) -> None:
    # given
    quick = settings.model_copy(update={"http_timeout_s": 0.3})
    url = server.route("/slow", Reply(body=b"late", delay_s=1.5))
    # when
    with pytest.raises(FetchError) as err:
        fetch(url, settings=quick)
    # then
    assert "timed out" in str(err.value)
    assert err.value.retryable


def test_conditional_get_gives_not_modified(server: LocalServer, settings: Settings) -> None:
    # given: a server that honours If-None-Match
    def feed(handler: object) -> Reply:
        headers = getattr(handler, "headers")  # noqa: B009
        if headers.get("If-None-Match") == '"v7"':
            return Reply(304, headers={"ETag": '"v7"'})
        return Reply(body=b"<rss/>", headers={"ETag": '"v7"'})

    url = server.route("/feed", feed)
    # when
    result = fetch(
        url, settings=settings, etag='"v7"', last_modified="Mon, 09 Sep 2024 03:00:00 GMT"
    )
    # then
    assert result.not_modified and result.content == b""
    assert result.etag == '"v7"'
    sent = server.requests[-1]["headers"]
    assert sent["If-Modified-Since"] == "Mon, 09 Sep 2024 03:00:00 GMT"


@pytest.mark.parametrize(
    ("status", "retryable"), [(429, True), (500, True), (503, True), (404, False), (403, False)]
)
def test_http_errors_say_whether_to_retry(
    server: LocalServer, settings: Settings, status: int, retryable: bool
) -> None:
    # given
    url = server.route("/status", Reply(status, b"error page"))
    # when
    with pytest.raises(FetchError) as err:
        fetch(url, settings=settings)
    # then
    assert err.value.status == status
    assert err.value.retryable is retryable
    assert f"HTTP {status}" in str(err.value)


def test_connection_refused_is_a_retryable_network_error(settings: Settings) -> None:
    # given
    url = f"http://127.0.0.1:{_closed_port()}/rss.xml"
    # when
    with pytest.raises(FetchError) as err:
        fetch(url, settings=settings)
    # then
    assert "network error" in str(err.value) and err.value.retryable


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/rss.xml",
        "http://localhost:8080/",
        "http://10.1.2.3/feed",
        "http://192.168.1.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_guard_refuses_internal_addresses_unless_allowed(url: str) -> None:
    # when / then
    with pytest.raises(BlockedURLError):
        check_public_url(url, allow_private=False)
    check_public_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.vn/feed", "javascript:alert(1)", "http:///x"]
)
def test_guard_refuses_other_schemes_even_when_private_allowed(url: str) -> None:
    # when / then
    with pytest.raises(BlockedURLError):
        check_public_url(url, allow_private=True)


def test_guard_accepts_a_public_address() -> None:
    # when / then: an IP literal resolves without DNS, so this runs offline
    check_public_url("https://8.8.8.8/rss.xml", allow_private=False)


def test_fetch_refuses_loopback_without_contacting_it(
    server: LocalServer, settings: Settings
) -> None:
    # given
    strict = settings.model_copy(update={"allow_private_urls": False})
    url = server.route("/feed", Reply(body=b"<rss/>"))
    # when
    with pytest.raises(BlockedURLError) as err:
        fetch(url, settings=strict)
    # then
    assert not err.value.retryable
    assert server.requests == []


def test_redirect_hops_are_checked_too(server: LocalServer, settings: Settings) -> None:
    # given
    url = server.route("/go", Reply(302, headers={"Location": "file:///etc/passwd"}))
    # when / then
    with pytest.raises(BlockedURLError):
        fetch(url, settings=settings)
