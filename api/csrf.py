"""CSRF protection for every unsafe request that a browser session authenticates.

A pure ASGI middleware, so it covers every route (including ones added later) and both
form posts and JSON: the token comes from the `X-CSRF-Token` header or, for forms, the
`csrf_token` field. A form body is read once here and replayed to the app, so FastAPI
still parses it. Requests with `Authorization` (API tokens) carry no ambient credential
and are exempt; requests without a session cookie have nothing to protect."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import SESSION_COOKIE, load_session
from core.db import new_session
from core.security import same_secret

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Forms here are small; a larger body is refused rather than buffered.
MAX_FORM_BYTES = 5 * 1024 * 1024
REFUSED = "Yêu cầu bị từ chối: thiếu hoặc sai mã bảo vệ CSRF. Hãy tải lại trang rồi thử lại."
# Sign-in has no session to hold a token yet. Login CSRF (another site signing the visitor in
# as the attacker) is stopped by the Origin header that browsers send with every POST.
LOGIN_PATHS = {"/dang-nhap", "/api/v1/auth/login"}
FOREIGN_ORIGIN = "Yêu cầu đăng nhập từ trang web khác bị từ chối."


def _cookie(headers: Headers) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else None


class CSRFMiddleware:
    """Refuses unsafe cookie-authenticated requests whose CSRF token does not match."""

    def __init__(self, app: ASGIApp, db_url: str, public_url: str = ""):
        self.app = app
        self.db_url = db_url
        self.public_url = public_url

    def _session_token(self, cookie: str) -> str | None:
        session = new_session(self.db_url, read_only=True)
        try:
            row = load_session(session, cookie)
            return row.csrf_token if row else None
        finally:
            session.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["path"] in LOGIN_PATHS and not _same_origin(headers, self.public_url):
            await _refuse(scope, send, 403, FOREIGN_ORIGIN)
            return
        cookie = _cookie(headers)
        if "authorization" in headers or not cookie:
            await self.app(scope, receive, send)
            return
        expected = await run_in_threadpool(self._session_token, cookie)
        if expected is None:
            # Unknown or expired session: authentication refuses the request downstream.
            await self.app(scope, receive, send)
            return
        given = headers.get("x-csrf-token")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if given is None and content_type in FORM_TYPES:
            body = await _read_body(receive)
            if body is None:
                await _refuse(scope, send, 413, "Dữ liệu gửi lên quá lớn.")
                return
            given = await _form_token(scope, body)
            receive = _replay(body, receive)
        if not given or not same_secret(given, expected):
            await _refuse(scope, send, 403, REFUSED)
            return
        await self.app(scope, receive, send)


def _same_origin(headers: Headers, public_url: str) -> bool:
    """False when the browser says the request comes from another site (Origin header)."""
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser form post (scripts, old clients): nothing ambient to abuse
    netloc = urlsplit(origin).netloc.lower()
    allowed = {headers.get("host", "").lower()}
    if public_url:
        allowed.add(urlsplit(public_url).netloc.lower())
    return origin != "null" and netloc in allowed


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _form_token(scope: Scope, body: bytes) -> str | None:
    request = Request(scope, _replay(body, _never))
    try:
        async with request.form() as form:
            value = form.get("csrf_token")
            return value if isinstance(value, str) else None
    except Exception:
        return None


async def _never() -> Message:
    return {"type": "http.disconnect"}


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    headers = Headers(scope=scope)
    wants_html = "text/html" in headers.get("accept", "") and not scope["path"].startswith("/api/")
    if wants_html:
        body = (
            "<!doctype html><html lang='vi'><meta charset='utf-8'><title>Lỗi</title>"
            f"<p>{message}</p><p><a href='/hop-thu'>Về hộp thư</a></p></html>"
        ).encode()
        ctype = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"detail": message}, ensure_ascii=False).encode()
        ctype = b"application/json"
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
