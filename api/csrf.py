"""The gate for every unsafe request: who is calling, then CSRF, before any body is read.

A pure ASGI middleware, so it covers every route (including ones added later) and both
form posts and JSON. Apart from sign-in, every unsafe route needs a caller, so the caller is
established here from the headers alone: an anonymous request is answered 401 (a page:
303 to sign-in) before its body is read or parsed. Requests with `Authorization` (API
tokens) carry no ambient credential and need no CSRF token. A session cookie (read with
Starlette's parser, the one `request.cookies` uses) must come with its session's CSRF token
from the `X-CSRF-Token` header or, for forms, the `csrf_token` field; a form body is read
once here and replayed to the app. The session the check passed is recorded in the scope,
and api.deps accepts a cookie on an unsafe request only for that session: authentication
never depends on this middleware finding the same cookie."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import CSRF_CHECKED, SESSION_COOKIE, bearer_problem, load_session
from core.db import new_session
from core.models import User
from core.security import same_secret

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# As large as api.body_limits lets a multipart upload be (the unit import's 5 MB file plus
# framing), so the import route, not this read, tells the user a file is too large.
MAX_FORM_BYTES = 6 * 1024 * 1024
REFUSED = "Yêu cầu bị từ chối: thiếu hoặc sai mã bảo vệ CSRF. Hãy tải lại trang rồi thử lại."
ANONYMOUS = "Bạn cần đăng nhập để tiếp tục."
# Sign-in has no session to hold a token yet. Login CSRF (another site signing the visitor in
# as the attacker) is stopped by the Origin header that browsers send with every POST.
LOGIN_PATHS = {"/dang-nhap", "/api/v1/auth/login"}
FOREIGN_ORIGIN = "Yêu cầu đăng nhập từ trang web khác bị từ chối."


def session_cookie(headers: Headers) -> str | None:
    """The session cookie as the app reads it (Starlette's parser, last value wins)."""
    return cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE) or None


class CSRFMiddleware:
    """Refuses anonymous unsafe requests, and cookie ones whose CSRF token does not match."""

    def __init__(self, app: ASGIApp, db_url: str, public_url: str = ""):
        self.app = app
        self.db_url = db_url
        self.public_url = public_url

    def _session(self, cookie: str | None) -> tuple[str, str] | None:
        """(session id, CSRF token) of a live session of an active user, else None."""
        session = new_session(self.db_url, read_only=True)
        try:
            row = load_session(session, cookie)
            if row is None:
                return None
            user = session.get(User, row.user_id)
            return (row.id, row.csrf_token) if user is not None and user.active else None
        finally:
            session.close()

    def _token_problem(self, header: str) -> str | None:
        session = new_session(self.db_url, read_only=True)
        try:
            return bearer_problem(session, header)
        finally:
            session.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["path"] in LOGIN_PATHS:
            if not _same_origin(headers, self.public_url):
                await refuse(scope, send, 403, FOREIGN_ORIGIN)
                return
            await self.app(scope, receive, send)
            return
        if "authorization" in headers:
            problem = await run_in_threadpool(self._token_problem, headers["authorization"])
            if problem:
                await _anonymous(scope, send, problem)
                return
            await self.app(scope, receive, send)
            return
        found = await run_in_threadpool(self._session, session_cookie(headers))
        if found is None:
            await _anonymous(scope, send, ANONYMOUS)
            return
        session_id, expected = found
        given = headers.get("x-csrf-token")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if given is None and content_type in FORM_TYPES:
            body = await _read_body(receive)
            if body is None:
                await refuse(scope, send, 413, "Dữ liệu gửi lên quá lớn.")
                return
            given = await _form_token(scope, body)
            receive = _replay(body, receive)
        if not given or not same_secret(given, expected):
            await refuse(scope, send, 403, REFUSED)
            return
        scope.setdefault("state", {})[CSRF_CHECKED] = session_id
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


async def _anonymous(scope: Scope, send: Send, message: str) -> None:
    """What api.main answers a NotAuthenticated: pages go to sign-in, the API gets 401."""
    headers = Headers(scope=scope)
    if "text/html" in headers.get("accept", "") and not scope["path"].startswith("/api/"):
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        location = f"/dang-nhap?{urlencode({'next': target})}"
        await _send(send, 303, b"", b"text/plain", [(b"location", location.encode())])
        return
    await refuse(scope, send, 401, message, [(b"www-authenticate", b"Bearer")])


async def refuse(
    scope: Scope,
    send: Send,
    status: int,
    message: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with `message`: a small page for a browser, else JSON {"detail": ...}."""
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
    await _send(send, status, body, ctype, extra or [])


async def _send(
    send: Send, status: int, body: bytes, ctype: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", ctype),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
