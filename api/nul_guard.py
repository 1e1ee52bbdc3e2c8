"""Refuse NUL characters in request input, whatever the route.

PostgreSQL text cannot hold U+0000 (SQLite can), so a NUL in a JSON string, a form field or
the query string would reach the database as a 500 on one backend and be stored on the
other. One pure ASGI check answers 422 with a clear message on both, before any route runs.
Bodies that FastAPI parses as JSON (every JSON media type) and urlencoded forms are read
here and replayed to the app; multipart bodies (files such as XLSX imports are binary) pass
unchecked (their fields are validated where they are parsed)."""

from __future__ import annotations

import json
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_TYPE = "application/x-www-form-urlencoded"
# As large as the largest body api.body_limits lets through, so no accepted body skips this.
MAX_CHECKED_BYTES = 8 * 1024 * 1024
# URL escapes (query strings, forms), JSON escapes, raw bytes.
_NUL_URL = re.compile(rb"%00|\x00")
_NUL_JSON = re.compile(rb"\\u0000|\x00", re.IGNORECASE)
REFUSED = "Dữ liệu gửi lên chứa ký tự NUL (U+0000), không được chấp nhận."


class NulGuardMiddleware:
    """422 for a request whose query string or JSON/urlencoded body carries U+0000."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL_URL.search(scope.get("query_string", b"")):
            await _refuse(send)
            return
        ctype = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        if ctype != FORM_TYPE and not parsed_as_json(ctype):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= MAX_CHECKED_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(chunks, message, receive), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        nul = _NUL_URL if ctype == FORM_TYPE else _NUL_JSON
        if not more and nul.search(b"".join(chunks)):
            await _refuse(send)
            return
        await self.app(scope, _replay(chunks, None, receive, more), send)


def parsed_as_json(media_type: str) -> bool:
    """Whether FastAPI parses a body of this media type as JSON.

    It does for application/json, any application/*+json (application/x+json slipped past a
    list of two names) and for a body with no Content-Type at all."""
    if not media_type:
        return True
    main, _, sub = media_type.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _replay(
    chunks: list[bytes], pending: Message | None, receive: Receive, more: bool = False
) -> Receive:
    """A receive that gives back what was read, then carries on with the real one."""
    queue: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}]
    if pending is not None:
        queue.append(pending)

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed


async def _refuse(send: Send) -> None:
    body = json.dumps({"detail": REFUSED}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
