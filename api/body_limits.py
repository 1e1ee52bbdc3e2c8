"""Request body caps per kind of route, enforced before anything reads or parses a body.

A pure ASGI middleware outside the sign-in/CSRF gate: a declared Content-Length over the cap
is answered 413 at once (nothing read), and a body sent without one (chunked) is counted as
it streams and cut off at the cap. Without it one anonymous 200 MB JSON post was parsed in
full (+600 MB in the web process) before its 401."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.csrf import refuse

MIB = 1024 * 1024
# Forms and JSON here carry notes, rules and tips (the largest field: 200,000 characters);
# uploads are the unit registry (alerts.units.importer: 5 MB) plus multipart framing.
JSON_MAX = 1 * MIB
FORM_MAX = 1 * MIB
UPLOAD_MAX = 6 * MIB
# Batch classification: 64 texts of up to 20,000 characters each, as JSON escapes.
PATH_MAX = {"/api/v1/classify": 8 * MIB}
TOO_LARGE = "Dữ liệu gửi lên quá lớn (tối đa {mib} MB cho loại yêu cầu này)."


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its cap (FastAPI re-raises it)."""

    def __init__(self, cap: int) -> None:
        super().__init__(status_code=413, detail=too_large(cap))


def too_large(cap: int) -> str:
    """The 413 message for a cap in bytes."""
    return TOO_LARGE.format(mib=f"{cap / MIB:g}")


def body_cap(path: str, content_type: str) -> int:
    """The largest body accepted for a request to `path` with this Content-Type."""
    for prefix, cap in PATH_MAX.items():
        if path == prefix or path.startswith(prefix + "/"):
            return cap
    media = content_type.split(";")[0].strip().lower()
    if media == "multipart/form-data":
        return UPLOAD_MAX
    if media == "application/x-www-form-urlencoded":
        return FORM_MAX
    # JSON (any +json type), no Content-Type (FastAPI parses that as JSON too) and the rest.
    return JSON_MAX


class BodyLimitMiddleware:
    """413 for a body over its route's cap: by Content-Length up front, else as it streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cap = body_cap(scope["path"], headers.get("content-type", ""))
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await refuse(scope, send, 400, "Tiêu đề Content-Length không hợp lệ.")
                return
            if int(declared) > cap:
                await refuse(scope, send, 413, too_large(cap), [(b"connection", b"close")])
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            # Raised where no route could turn it into a response (a middleware's read).
            if started:
                raise
            await refuse(scope, send, 413, too_large(cap), [(b"connection", b"close")])
