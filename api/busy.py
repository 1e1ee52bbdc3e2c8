"""A database that is busy (SQLite's write lock held too long) or unreachable answers 503 with
`Retry-After` and a Vietnamese message, never a 500: the client was told nothing was stored,
and nothing was (the request's transaction rolled back with the error)."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db import lock_deadline
from core.dberrors import is_database_busy

log = logging.getLogger(__name__)

__all__ = ["BUSY_MESSAGE", "RETRY_AFTER_S", "BusyDatabaseMiddleware", "is_database_busy"]

BUSY_MESSAGE = "Cơ sở dữ liệu đang bận, hãy thử lại sau ít phút."
# Long enough for a batch commit to finish; short enough that a form resubmit feels prompt.
RETRY_AFTER_S = 5


def _find_busy(exc: BaseException) -> BaseException | None:
    """The busy error itself, or inside an ExceptionGroup (anyio task groups wrap them)."""
    if is_database_busy(exc):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _find_busy(inner)
        if found is not None:
            return found
    return None


class BusyDatabaseMiddleware:
    """Outermost ASGI middleware: a request waits at most `deadline_s` for the write lock, and
    a busy-database error from a route, a dependency or an inner middleware becomes 503 +
    Retry-After (an HTML page for browsers, JSON for the API)."""

    def __init__(self, app: ASGIApp, deadline_s: float = 10.0) -> None:
        self.app = app
        self.deadline_s = deadline_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            # The route's threads inherit this context: a writer waits for the lock in
            # core.db_lock's backoff until the deadline, then raises DatabaseBusy.
            with lock_deadline(self.deadline_s):
                await self.app(scope, receive, tracking_send)
        except Exception as exc:
            busy = _find_busy(exc)
            if busy is None or started:
                raise
            log.warning(
                "database busy: 503 for %s %s (%s)",
                scope.get("method"),
                scope.get("path"),
                str(busy).splitlines()[0][:200],
            )
            await _send_busy(scope, send)


def _wants_html(scope: Scope) -> bool:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    path = str(scope.get("path", ""))
    return not path.startswith("/api/") and "text/html" in headers.get("accept", "")


async def _send_busy(scope: Scope, send: Send) -> None:
    if _wants_html(scope):
        body = _html_page().encode("utf-8")
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"detail": BUSY_MESSAGE}, ensure_ascii=False).encode("utf-8")
        content_type = b"application/json"
    headers: list[Any] = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _html_page() -> str:
    # A self-contained page: the site template may itself need the database (the signed-in
    # user's name), which is what is busy.
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{RETRY_AFTER_S * 2}">'
        "<title>Hệ thống đang bận</title></head><body>"
        f'<p class="error" role="alert">{BUSY_MESSAGE}</p>'
        '<p><a href="javascript:location.reload()">Thử lại</a></p></body></html>'
    )
