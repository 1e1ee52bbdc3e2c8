"""Request bodies are capped per kind of route (JSON, forms, uploads) and answered 413 before
they are read; anonymous writes are refused before their body is read or parsed."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.body_limits import FORM_MAX, JSON_MAX, UPLOAD_MAX
from core.settings import Settings
from tests.factories import login_as
from tests.live import serve_app

MIB = 1024 * 1024


@pytest.fixture
def live_app(settings: Settings, session: Session) -> Iterator[tuple[str, int]]:
    """The app on uvicorn on 127.0.0.1 (a thread of this process)."""
    with serve_app(settings) as addr:
        yield addr


def _raw_post(addr: tuple[str, int], path: str, declared: int, sent: bytes) -> bytes:
    """POST that declares `declared` bytes but sends only `sent`; the answer's first bytes."""
    with socket.create_connection(addr, timeout=10) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {addr[0]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
            + sent
        )
        return conn.recv(4096)


def test_huge_declared_body_is_refused_without_being_read(live_app: tuple[str, int]) -> None:
    # when an anonymous caller announces 200 MB of JSON and sends the first kilobyte
    started = time.monotonic()
    answer = _raw_post(live_app, "/api/v1/tips", 200 * MIB, b"[" * 1024)
    # then the server answers 413 at once, without waiting for (or reading) the rest
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5
    # and a body under the cap, still anonymous, is refused before it is read: 401, not
    # the 422 that parsing this broken JSON would give
    small = _raw_post(live_app, "/api/v1/tips", 2048, b"{" * 10)
    assert small.startswith(b"HTTP/1.1 401"), small[:200]


def test_anonymous_write_is_refused_before_its_body_is_parsed(app_client: TestClient) -> None:
    r = app_client.post(
        "/api/v1/tips", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 401
    page = app_client.post(
        "/luu-tim-kiem", data={"q": "x"}, headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert page.status_code == 303 and page.headers["location"].startswith("/dang-nhap")


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"name": "'
    for _ in range(total // size):
        yield b"a" * size
    yield b'", "type": "truong"}'


def test_each_kind_of_route_has_its_cap(app_client: TestClient) -> None:
    login_as(app_client, "admin")
    # JSON: over the cap by Content-Length, and streamed without one (chunked)
    big_json = {"name": "a" * (JSON_MAX + 10), "type": "truong"}
    assert app_client.post("/api/v1/admin/units", json=big_json).status_code == 413
    streamed = app_client.post(
        "/api/v1/admin/units",
        content=_chunks(JSON_MAX + MIB),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413 and "quá lớn" in streamed.json()["detail"]
    # forms
    form = app_client.post("/luu-tim-kiem", data={"name": "x", "q": "a" * (FORM_MAX + 10)})
    assert form.status_code == 413
    # uploads: a file a little over the import's own 5 MB passes the cap (the route refuses
    # it with its own message), one over the upload cap is a 413
    files = {"file": ("don-vi.csv", b"a" * (5 * MIB + 10), "text/csv")}
    assert app_client.post("/api/v1/admin/units/import", files=files).status_code == 400
    files = {"file": ("don-vi.csv", b"a" * (UPLOAD_MAX + 10), "text/csv")}
    assert app_client.post("/api/v1/admin/units/import", files=files).status_code == 413
    # batch classification may carry more JSON than other routes
    texts = {"texts": ["giáo dục " * 150_000]}
    classified = app_client.post("/api/v1/classify", json=texts)
    assert classified.status_code in (200, 400, 422), classified.text[:200]
    # and ordinary requests still go through
    ok = app_client.post("/api/v1/admin/units", json={"name": "Trường A", "type": "truong"})
    assert ok.status_code == 201, ok.text


def test_the_upload_form_reports_its_own_limit(app_client: TestClient) -> None:
    # the admin page's form carries the CSRF token as a field, so the gate reads the body
    login_as(app_client, "admin")
    token = app_client.headers.pop("X-CSRF-Token")
    files = {"file": ("don-vi.csv", b"a" * (5 * MIB + 10), "text/csv")}
    r = app_client.post(
        "/quan-tri/don-vi/nhap",
        data={"csrf_token": token},
        files=files,
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 400 and "Tệp quá lớn (tối đa 5 MB)" in r.text
