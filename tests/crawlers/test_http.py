"""crawlers.http against real local servers: limits, redirects, timeouts, conditional GET,
status errors and the SSRF guard."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import unicodedata
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.net import parse_networks
from core.settings import Settings
from crawlers.http import (
    INFLATE_STEP,
    BlockedURLError,
    FetchError,
    _decoded_chunks,
    check_public_url,
    fetch,
    parse_retry_after,
)
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
    assert server.requests[0]["headers"]["User-Agent"] == settings.http.user_agent


def test_body_over_the_size_limit_is_refused(server: LocalServer, settings: Settings) -> None:
    # given: no Content-Length, so only counting the stream can catch it
    small = settings.copy_with(http={"max_bytes": 1024})
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
    small = settings.copy_with(http={"max_bytes": 1024})
    url = server.route("/declared", Reply(body=b"y" * 4096))
    # when / then
    with pytest.raises(FetchError, match="4096 bytes declared"):
        fetch(url, settings=small)


def test_decompressed_size_is_what_counts(server: LocalServer, settings: Settings) -> None:
    # given: 200 KB of zeros gzip to a few hundred bytes
    small = settings.copy_with(http={"max_bytes": 10_000})
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
    quick = settings.copy_with(http={"timeout_s": 0.3})
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
    "url", ["file:///etc/passwd", "ftp://example.vn/feed", "javascript:alert(1)", "http:///x"]
)
def test_guard_refuses_other_schemes_even_when_private_allowed(url: str) -> None:
    # when / then
    with pytest.raises(BlockedURLError):
        check_public_url(url, parse_networks("127.0.0.1/32"))


def test_guard_accepts_a_public_address() -> None:
    # when / then: an IP literal resolves without DNS, so this runs offline
    check_public_url("https://8.8.8.8/rss.xml")


def test_fetch_refuses_loopback_without_contacting_it(
    server: LocalServer, settings: Settings
) -> None:
    # given
    strict = settings.copy_with(http={"allowed_private_networks": ""})
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


def test_real_gzip_bomb_of_ten_megabytes_of_zeros_is_refused(
    server: LocalServer, settings: Settings
) -> None:
    # given: 10 MiB + 1 byte of zeros, ~10 KB on the wire, at the default size limit
    zeros = settings.http.max_bytes + 1
    bomb = gzip.compress(b"\0" * zeros, compresslevel=9)
    assert len(bomb) < 20_000
    url = server.route("/bomb.xml", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    # when
    with pytest.raises(FetchError) as err:
        fetch(url, settings=settings)
    # then: a clear, final error
    assert "too large" in str(err.value) and "gzip decompression" in str(err.value)
    assert not err.value.retryable


def test_inflating_never_holds_much_more_than_the_limit() -> None:
    # given: 64 MiB of zeros arriving as one network chunk
    bomb = gzip.compress(b"\0" * (64 << 20))
    # when
    sizes = [len(c) for c in _decoded_chunks(iter([bomb]), "gzip", "http://x.vn/")]
    # then: zlib hands it over in steps, so the size check can stop it after one
    assert max(sizes) <= INFLATE_STEP and sum(sizes) == 64 << 20


def test_gzip_members_raw_deflate_and_unknown_codings(
    server: LocalServer, settings: Settings
) -> None:
    # given
    members = gzip.compress(b"<rss>") + gzip.compress(b"</rss>")
    deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = deflater.compress(b"<rss/>") + deflater.flush()
    server.route("/members", Reply(body=members, headers={"Content-Encoding": "gzip"}))
    server.route("/raw", Reply(body=raw_deflate, headers={"Content-Encoding": "deflate"}))
    server.route("/br", Reply(body=b"\x0b\x02\x80", headers={"Content-Encoding": "br"}))
    server.route("/bad", Reply(body=b"\x1f\x8bnot gzip", headers={"Content-Encoding": "gzip"}))
    # when / then
    assert fetch(server.url("/members"), settings=settings).content == b"<rss></rss>"
    assert fetch(server.url("/raw"), settings=settings).content == b"<rss/>"
    assert server.requests[0]["headers"]["Accept-Encoding"] == "gzip, deflate"
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        fetch(server.url("/br"), settings=settings)
    with pytest.raises(FetchError, match="corrupt gzip body"):
        fetch(server.url("/bad"), settings=settings)


class _TrickleServer:
    """Sends headers at once, then one body byte every 0.1 s: every read is quick, the
    whole response never ends."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.xml"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n")
            while not self.stop.wait(0.1):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return


def test_trickling_server_hits_the_total_deadline(settings: Settings) -> None:
    # given
    quick = settings.copy_with(http={"timeout_s": 0.5})
    trickle = _TrickleServer()
    try:
        # when
        started = time.monotonic()
        with pytest.raises(FetchError) as err:
            fetch(trickle.url, settings=quick)
        # then
        assert "timed out reading" in str(err.value) and err.value.retryable
        assert time.monotonic() - started < 5
    finally:
        trickle.stop.set()
        trickle.sock.close()


def test_forbidden_is_final_with_a_clear_message(server: LocalServer, settings: Settings) -> None:
    # given
    url = server.route("/rss", Reply(403, b"<h1>Access denied</h1>"))
    # when
    with pytest.raises(FetchError) as err:
        fetch(url, settings=settings)
    # then
    assert not err.value.retryable and err.value.status == 403
    assert "HTTP 403 Forbidden" in str(err.value) and "refuses the crawler" in str(err.value)


def test_retry_after_is_read_from_429_and_503(server: LocalServer, settings: Settings) -> None:
    # given
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    server.route("/busy", Reply(429, headers={"Retry-After": "120"}))
    server.route("/down", Reply(503, headers={"Retry-After": later}))
    server.route("/plain", Reply(503))
    # when
    errors = []
    for path in ("/busy", "/down", "/plain"):
        with pytest.raises(FetchError) as err:
            fetch(server.url(path), settings=settings)
        errors.append(err.value)
    # then
    assert errors[0].retry_after == 120 and "retry after 120s" in str(errors[0])
    assert errors[1].retry_after is not None and 590 <= errors[1].retry_after <= 600
    assert errors[2].retry_after is None
    assert all(e.retryable for e in errors)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def _cp1258(text: str) -> bytes:
    """Windows-1258 bytes: shaped letters precomposed, the five tone marks combining."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        bare = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out.append(bare + "".join(c for c in parts if c in tones))
    return "".join(out).encode("cp1258")


def test_fetch_result_text_decodes_legacy_vietnamese(
    server: LocalServer, settings: Settings
) -> None:
    # given: a windows-1258 page named by its header, and an ABC-font page with no charset
    title = "Trường Đắk Sơn"
    html = {"Content-Type": "text/html; charset=windows-1258"}
    server.route("/1258", Reply(body=_cp1258(title), headers=html))
    server.route("/abc", Reply(body=b"Tr\xad\xeang \xa7\xbek S\xacn"))
    # when
    first = fetch(server.url("/1258"), settings=settings)
    second = fetch(server.url("/abc"), settings=settings)
    # then
    assert first.text() == title and first.decoded().encoding == "cp1258"
    assert second.text() == title and second.decoded().legacy == "tcvn3"
