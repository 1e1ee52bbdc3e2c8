"""Fake third-party APIs on 127.0.0.1: the base server (path routing, call log, failures on
demand) and a Graph API v19.0 that answers in the real wire format (JSON shapes, cursor
paging, X-App-Usage, error objects). The YouTube fake is in fakeyoutube.py."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.crawlers.conftest import Reply

Params = dict[str, str]
# A scripted failure: when the predicate matches (path, params) the reply is sent instead.
Failure = tuple[Callable[[str, Params], bool], Reply]
JSON_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}


def json_reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer as the APIs send it."""
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Reply(status=status, body=body, headers={**JSON_HEADERS, **(headers or {})})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: ApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        reply = self.server.api.answer(parts.path, params)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class ApiServer:
    """Base of the fakes: a threaded server that routes by path and records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Params]] = []
        self.failures: list[Failure] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_when(self, predicate: Callable[[str, Params], bool], reply: Reply) -> None:
        """Answer matching calls with `reply` (rate limits, broken JSON) until cleared."""
        self.failures.append((predicate, reply))

    def answer(self, path: str, params: Params) -> Reply:
        """The reply to one GET."""
        self.calls.append((path, params))
        for predicate, reply in self.failures:
            if predicate(path, params):
                return reply
        return self.route(path, params)

    def route(self, path: str, params: Params) -> Reply:
        """Overridden by each fake."""
        return json_reply({"error": "not found"}, 404)

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"vi-tri:{index}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().split(":", 1)[1])


# ------------------------------------------------------------------------------ Graph


def graph_error(
    code: int,
    message: str,
    *,
    status: int = 400,
    type_: str = "OAuthException",
    subcode: int | None = None,
    transient: bool = False,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A Graph API error answer: {"error": {message, type, code, error_subcode, fbtrace_id}}."""
    error: dict[str, Any] = {
        "message": message,
        "type": type_,
        "code": code,
        "is_transient": transient,
        "fbtrace_id": "AbCdEfGh123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return json_reply({"error": error}, status, headers)


@dataclass
class GraphPost:
    """One page post as the fake Graph API stores it."""

    id: str
    message: str | None
    created_time: str
    reactions: int = 0
    shares: int = 0
    comments: list[dict[str, Any]] = field(default_factory=list)


class FakeGraph(ApiServer):
    """Graph API v19.0: /{page-id}/posts and /{post-id}/comments with cursor paging."""

    version = "v19.0"

    def __init__(self, page_id: str, token: str) -> None:
        super().__init__()
        self.page_id = page_id
        self.token = token
        self.posts: list[GraphPost] = []
        self.comment_page_size = 2
        # Percent of the app's hourly quota reported in X-App-Usage.
        self.usage = 12

    @property
    def api_base(self) -> str:
        return f"{self.origin}/{self.version}"

    def permalink(self, post: GraphPost) -> str:
        return f"https://www.facebook.com/{self.page_id}/posts/{post.id.split('_', 1)[1]}"

    def route(self, path: str, params: Params) -> Reply:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != self.version:
            return graph_error(
                100, "Unknown path components: /" + "/".join(parts[1:]), type_="OAuthException"
            )
        if params.get("access_token") != self.token:
            return graph_error(
                190,
                "Error validating access token: Session has expired on Thursday, "
                "29-Feb-24 10:00:00 PST. The current time is Friday, 01-Mar-24 09:00:00 PST.",
                subcode=463,
            )
        node, edge = parts[1], parts[2]
        if edge == "posts" and node == self.page_id:
            return self._posts(path, params)
        post = next((p for p in self.posts if p.id == node), None)
        if edge == "comments" and post is not None:
            return self._comments(path, params, post)
        return graph_error(
            100,
            f"Unsupported get request. Object with ID '{node}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            type_="GraphMethodException",
            subcode=33,
        )

    def _usage(self) -> dict[str, str]:
        usage = {"call_count": self.usage, "total_cputime": 3, "total_time": 4}
        return {"X-App-Usage": json.dumps(usage)}

    def _page(
        self, path: str, params: Params, rows: list[dict[str, Any]], size: int
    ) -> dict[str, Any]:
        start = _uncursor(params["after"]) + 1 if params.get("after") else 0
        chunk = rows[start : start + size]
        data: dict[str, Any] = {"data": chunk}
        if chunk:
            end = start + len(chunk) - 1
            data["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(end)}}
            if end + 1 < len(rows):
                query = {**params, "after": _cursor(end)}
                data["paging"]["next"] = f"{self.origin}{path}?{urlencode(query)}"
        return data

    def _posts(self, path: str, params: Params) -> Reply:
        rows = []
        for post in self.posts:
            row: dict[str, Any] = {
                "id": post.id,
                "created_time": post.created_time,
                "permalink_url": self.permalink(post),
                "reactions": {"data": [], "summary": {"total_count": post.reactions}},
                "comments": {
                    "data": [],
                    "summary": {
                        "order": "ranked",
                        "total_count": len(post.comments),
                        "can_comment": True,
                    },
                },
            }
            if post.message is not None:
                row["message"] = post.message
            if post.shares:
                row["shares"] = {"count": post.shares}
            rows.append(row)
        size = int(params.get("limit", "25"))
        return json_reply(self._page(path, params, rows, size), headers=self._usage())

    def _comments(self, path: str, params: Params, post: GraphPost) -> Reply:
        rows = list(reversed(post.comments))  # reverse_chronological: newest first
        page = self._page(path, params, rows, self.comment_page_size)
        return json_reply(page, headers=self._usage())
