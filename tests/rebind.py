"""SSRF test tools: a loopback listener that counts the TCP connections it accepts, and a
DNS-rebinding name (the operating system's resolver answers a public address on the first
lookup and an internal one on every later lookup).

The rebinding is installed by wrapping socket.getaddrinfo / socket.gethostbyname, the
functions every resolver in the service ends in (core.net.system_resolver, httpx, Twisted's
threaded resolver), so the code under test runs unchanged. Run as a module, it installs the
rebinding from $DIEMTIN_TEST_REBIND and then runs the site crawl's child process:

    DIEMTIN_TEST_REBIND='{"rebind.test": ["1.1.1.1", "127.0.0.1"]}' \\
        python -m tests.rebind --config JOB.json --output ITEMS.jsonl
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A public address for the first answer; nothing ever connects to it in a passing test.
PUBLIC = "1.1.1.1"
ENV = "DIEMTIN_TEST_REBIND"


class Rebinding:
    """Answers for fake names: `answers[name][i]` on the i-th lookup, the last one after."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: dict[str, int] = {name: 0 for name in answers}
        self._lock = threading.Lock()
        self._getaddrinfo = socket.getaddrinfo
        self._gethostbyname = socket.gethostbyname

    def _next(self, name: str) -> str:
        with self._lock:
            seen = self.lookups[name]
            self.lookups[name] = seen + 1
        answers = self.answers[name]
        return answers[min(seen, len(answers) - 1)]

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in self.answers:
            host = self._next(name)
        return self._getaddrinfo(host, port, *args, **kwargs)

    def gethostbyname(self, host: str) -> str:
        if host in self.answers:
            return self._next(host)
        return self._gethostbyname(host)

    def install(self) -> None:
        socket.getaddrinfo = self.getaddrinfo  # type: ignore[assignment]
        socket.gethostbyname = self.gethostbyname

    def uninstall(self) -> None:
        socket.getaddrinfo = self._getaddrinfo
        socket.gethostbyname = self._gethostbyname


@contextmanager
def rebinding(answers: dict[str, list[str]]) -> Iterator[Rebinding]:
    """The rebinding installed for the duration of the block."""
    rebind = Rebinding(answers)
    rebind.install()
    try:
        yield rebind
    finally:
        rebind.uninstall()


# path -> (status, headers, body)
Route = tuple[int, dict[str, str], bytes]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    routes: dict[str, Route]

    def get_request(self) -> tuple[socket.socket, Any]:
        # Counted on accept, before any byte is read: a connection is what must not happen.
        request = super().get_request()
        self.connections += 1
        return request

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, headers, body = self.server.routes.get(self.path, (200, {}, b"ok"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class Listener:
    """An HTTP server on `host` (any 127.x address) that counts accepted connections."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.routes = {}
        # Server names clients sent in their TLS hello (SNI).
        self.server_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self._server.connections

    def route(self, path: str, status: int = 200, body: bytes = b"ok", **headers: str) -> str:
        """Answer `path` so; returns its URL on this listener's address."""
        self._server.routes[path] = (
            status,
            {k.replace("_", "-"): v for k, v in headers.items()},
            body,
        )
        return self.url(path)

    def url(self, path: str = "/", host: str | None = None) -> str:
        """`path` on this listener, optionally under another host name (same port)."""
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def main(run: Callable[[list[str]], int] | None = None) -> int:
    """Install the rebinding named in $DIEMTIN_TEST_REBIND, then run the crawl child."""
    Rebinding(json.loads(os.environ.get(ENV) or "{}")).install()
    if run is None:
        from crawlers.spiders.run import main as run
    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
