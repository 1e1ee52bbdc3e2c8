"""The one HTTP server of the fixture web: serves a `handle(path, headers)` function on
127.0.0.1 from a daemon thread, with the standard library only."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

# (status, Content-Type, body, extra headers)
Reply = tuple[int, str, bytes, dict[str, str]]
# The request headers are passed as they came (their names are case-insensitive).
Handle = Callable[[str, Message], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    handle_request_path: Handle

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Crawlers that cancel an oversized download leave a broken pipe behind; expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as real sites do; every reply carries Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "FixtureWeb/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm on, each keep-alive
    # reply would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("fixture web: " + format, *args)

    def _respond(self, *, send_body: bool) -> None:
        status, ctype, body, extra = self.server.handle_request_path(self.path, self.headers)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body and body:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)


class Site:
    """One site on one port: `start()` serves `handle(path, headers)` (port 0: a free port)."""

    def __init__(
        self, handle: Handle, *, host: str = "127.0.0.1", port: int = 0, name: str = "fixture-web"
    ) -> None:
        self.handle = handle
        self.host = host
        self.requested_port = port
        self.name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Site:
        """Start serving; returns self."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.requested_port), _Handler)
        self._server.handle_request_path = self.handle
        # A short poll interval keeps stop() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        """Whether the site is being served."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port being served (after start())."""
        if self._server is None:
            raise RuntimeError("the fixture site is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """http://<host>:<port>, without a trailing slash."""
        return f"http://{self.host}:{self.port}"
