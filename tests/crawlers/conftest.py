"""Fixtures of the crawler tests: the demo site and a small scriptable HTTP server on 127.0.0.1
(settings and session come from tests/conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from fixtureweb.demo import DemoSite


@pytest.fixture
def demo_site(settings: Settings) -> Iterator[DemoSite]:
    """The demo press site with only its built-in articles (no shared data)."""
    site = DemoSite(settings=settings, extra_limit=0).start()
    try:
        yield site
    finally:
        site.stop()


@dataclass
class Reply:
    """What the local server answers on one path."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    # Off: the body ends when the connection closes, as with a streaming server.
    content_length: bool = True


Route = Reply | Callable[[BaseHTTPRequestHandler], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    requests: list[dict[str, Any]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) leaves a broken pipe; that is expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append({"path": self.path, "headers": dict(self.headers)})
        route = self.server.routes.get(self.path) or self.server.routes.get(
            self.path.split("?", 1)[0]
        )
        reply = Reply(404, b"not found") if route is None else route
        if callable(reply):
            reply = reply(self)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.content_length:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 whose answers a test scripts per path."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = {}
        self._server.requests = []
        # A short poll interval makes shutdown() (each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received: path and headers."""
        return self._server.requests

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def route(self, path: str, reply: Route) -> str:
        """Answer `path` with `reply`; returns its URL."""
        self._server.routes[path] = reply
        return self.url(path)

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A scriptable local HTTP server."""
    srv = LocalServer().start()
    try:
        yield srv
    finally:
        srv.stop()


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    """The bytes of a file under tests/fixtures."""
    return (FIXTURES / name).read_bytes()
