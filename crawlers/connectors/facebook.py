"""Facebook pages through the Graph API: a page's posts (cursor paging) with reaction, share and
comment counts, and each post's top-level comments; Graph error codes decide retry or not."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from core.models import Source
from core.settings import Settings
from core.text import clean
from crawlers.connectors.base import CrawlOutput, FetchedItem, register_connector
from crawlers.connectors.social import (
    ApiResponse,
    RateLimitedError,
    api_get,
    config_int,
    config_str,
    count,
    headline,
    parse_time,
    retry_after_seconds,
    status_error,
)
from crawlers.http import FetchError
from crawlers.identity import canonical_url, document_id

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com/v19.0"
POST_FIELDS = (
    "id,message,created_time,permalink_url,shares,"
    "reactions.summary(total_count),comments.summary(total_count)"
)
COMMENT_FIELDS = "id,message,created_time,from,like_count"
# Application, user, page and custom-level throttling; 80000-80014 are the per-business
# (Pages API) limits that page tokens run into.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613}) | frozenset(range(80000, 80015))
TOKEN_SUBCODES = {
    458: "the app is not installed for this user",
    459: "the account is checkpointed",
    460: "the password was changed",
    463: "the token has expired",
    464: "the user is not confirmed",
    467: "the token is invalid",
}
# Above this share of the app's quota (X-App-Usage, percent) we stop calling for this poll:
# going on would earn a rate-limit block lasting up to an hour.
USAGE_STOP_PERCENT = 90
# Query parameters of paging.next that we set ourselves: the token never comes from a reply.
_OWN_PARAMS = frozenset({"access_token", "appsecret_proof"})


class GraphAuthError(FetchError):
    """The token was refused (Graph code 190): no retry helps until an admin replaces it."""


@dataclass(frozen=True)
class FacebookConfig:
    """Source.config of a Facebook page source."""

    page_id: str
    access_token: str
    api_base: str
    max_pages: int
    page_size: int
    comments: bool
    max_comment_pages: int
    since: int | None
    app_secret: str | None

    @classmethod
    def from_source(cls, source: Source) -> FacebookConfig:
        """Read and check the config; FetchError (not retryable) names what is wrong."""
        config = source.config or {}
        app_secret = config.get("app_secret")
        return cls(
            page_id=config_str(config, "page_id"),
            access_token=config_str(config, "access_token"),
            api_base=config_str(config, "api_base", DEFAULT_API_BASE).rstrip("/"),
            max_pages=config_int(config, "max_pages", 3, low=1, high=50),
            page_size=config_int(config, "page_size", 25, low=1, high=100),
            comments=bool(config.get("comments", True)),
            max_comment_pages=config_int(config, "max_comment_pages", 2, low=1, high=20),
            since=_since(config.get("since")),
            app_secret=app_secret if isinstance(app_secret, str) and app_secret else None,
        )


def _since(value: Any) -> int | None:
    """Graph's `since` as a Unix timestamp, from an int or an ISO date/time (UTC if naive)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    parsed = parse_time(value)
    if parsed is None:
        raise FetchError(f"source config 'since' must be a date or a Unix time, not {value!r}")
    return int(parsed.timestamp())


class _Graph:
    """Graph API calls of one poll: auth parameters, error mapping, usage tracking."""

    def __init__(self, cfg: FacebookConfig, settings: Settings) -> None:
        self.cfg = cfg
        self.settings = settings
        self.auth = {"access_token": cfg.access_token}
        if cfg.app_secret:
            # appsecret_proof: pages that require it refuse calls without it.
            self.auth["appsecret_proof"] = hmac.new(
                cfg.app_secret.encode(), cfg.access_token.encode(), hashlib.sha256
            ).hexdigest()
        self.usage = 0

    @property
    def throttled(self) -> bool:
        """True once the app's reported usage says further calls risk a block."""
        return self.usage >= USAGE_STOP_PERCENT

    def get(self, path: str, params: dict[str, str | int], what: str) -> dict[str, Any]:
        """One Graph call; FetchError (RateLimitedError for throttling) on any error answer."""
        response = api_get(
            f"{self.cfg.api_base}/{path}",
            {**params, **self.auth},
            settings=self.settings,
            secrets=self.auth.values(),
        )
        self.usage = max(self.usage, _usage(response)[0])
        if response.status >= 400:
            raise self._error(response, what)
        data = response.json(what)
        if isinstance(data.get("error"), dict):
            raise self._error(response, what)
        return data

    def _error(self, response: ApiResponse, what: str) -> FetchError:
        status = response.status
        regain_minutes = _usage(response)[1]
        retry_after = retry_after_seconds(response.headers.get("retry-after")) or (
            regain_minutes * 60 if regain_minutes else None
        )
        try:
            error = response.json(what).get("error")
        except FetchError:
            error = None
        if not isinstance(error, dict):
            return status_error(status, what, "Graph API", retry_after)
        code = count(error.get("code")) or 0
        subcode = count(error.get("error_subcode"))
        message = clean(str(error.get("message") or "no message")).rstrip(".")
        detail = f"code {code}" + (f", subcode {subcode}" if subcode else "")
        if error.get("fbtrace_id"):
            detail += f", fbtrace_id {error['fbtrace_id']}"
        if status == 429 or code in RATE_LIMIT_CODES:
            return RateLimitedError(
                f"{what}: Graph API rate limit reached ({detail}): {message}{_wait(retry_after)}",
                status=status,
                retry_after_s=retry_after,
            )
        if code == 190:
            why = TOKEN_SUBCODES.get(subcode or 0, "the token was refused")
            return GraphAuthError(
                f"{what}: Facebook access token is invalid or expired ({why}; {detail}): "
                f"{message}. Create a new page access token and put it in the source's config.",
                status=status,
            )
        if code == 100:
            return FetchError(
                f"{what}: Graph API rejected a parameter ({detail}): {message}. "
                "Check page_id and the source's config.",
                status=status,
            )
        if code == 10 or 200 <= code < 300:
            return FetchError(
                f"{what}: the token lacks a permission ({detail}): {message}", status=status
            )
        transient = bool(error.get("is_transient")) or code in (1, 2) or status >= 500
        return FetchError(
            f"{what}: Graph API error ({detail}): {message}", status=status, retryable=transient
        )


_USAGE_KEYS = ("call_count", "total_time", "total_cputime")


def _json_header(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return None


def _usage(response: ApiResponse) -> tuple[int, int | None]:
    """Highest share of quota used (percent) and the minutes until access returns, from
    X-App-Usage / X-Page-Usage and X-Business-Use-Case-Usage (page tokens get the latter)."""
    entries = [
        value
        for name in ("x-app-usage", "x-page-usage")
        if isinstance(value := _json_header(response.headers.get(name)), dict)
    ]
    business = _json_header(response.headers.get("x-business-use-case-usage"))
    for per_business in business.values() if isinstance(business, dict) else ():
        if isinstance(per_business, list):
            entries.extend(e for e in per_business if isinstance(e, dict))
    percent = max((count(e.get(k)) or 0 for e in entries for k in _USAGE_KEYS), default=0)
    regain = max((count(e.get("estimated_time_to_regain_access")) or 0 for e in entries), default=0)
    return percent, regain or None


def _wait(seconds: int | None) -> str:
    return f"; retry after {seconds} s" if seconds else ""


def _next_params(data: dict[str, Any]) -> dict[str, str] | None:
    """Query parameters of the next page, or None on the last page."""
    paging = data.get("paging")
    if not isinstance(paging, dict) or not paging.get("next") or not data.get("data"):
        return None
    # Cursor paging gives 'after'; time paging (with since/until) gives until/__paging_token.
    # The URL itself is not fetched: it carries a token, and we send ours only to api_base.
    params = {
        k: v for k, v in parse_qsl(urlsplit(str(paging["next"])).query) if k not in _OWN_PARAMS
    }
    after = (paging.get("cursors") or {}).get("after")
    if isinstance(after, str) and after:
        params["after"] = after
    return params


def _post_item(post: dict[str, Any], errors: list[str]) -> FetchedItem | None:
    post_id = str(post.get("id") or "")
    message = clean(post.get("message"))
    if not post_id:
        errors.append("a post without an id was skipped")
        return None
    if not message:
        errors.append(f"post {post_id}: no message text (photo or video only), skipped")
        return None
    url = post.get("permalink_url") if isinstance(post.get("permalink_url"), str) else None
    if url:
        try:
            canonical_url(url)
        except ValueError:
            errors.append(f"post {post_id}: unusable permalink_url {url!r}")
            url = None
    published = parse_time(post.get("created_time"))
    if published is None:
        errors.append(f"post {post_id}: unreadable created_time {post.get('created_time')!r}")
    shares = post.get("shares")
    return FetchedItem(
        url=url,
        title=headline(message),
        body=message,
        published_at=published,
        native_id=post_id,
        kind="post",
        likes=_summary_total(post.get("reactions")),
        # Graph leaves out 'shares' when a post has none.
        shares=count(shares.get("count")) if isinstance(shares, dict) else 0,
        comments=_summary_total(post.get("comments")),
        meta={"platform": "facebook"},
    )


def _summary_total(edge: Any) -> int | None:
    summary = edge.get("summary") if isinstance(edge, dict) else None
    return count(summary.get("total_count")) if isinstance(summary, dict) else None


def _comment_item(
    comment: dict[str, Any], parent: FetchedItem, parent_id: str
) -> FetchedItem | None:
    comment_id = str(comment.get("id") or "")
    message = clean(comment.get("message"))
    # Sticker- and photo-only comments carry no text to classify.
    if not comment_id or not message:
        return None
    author = comment.get("from")
    # 'from' is only there when the token may see who wrote it.
    name = clean(author.get("name")) if isinstance(author, dict) else ""
    return FetchedItem(
        url=None,
        body=message,
        author=name or None,
        published_at=parse_time(comment.get("created_time")),
        native_id=comment_id,
        kind="comment",
        likes=count(comment.get("like_count")),
        meta={
            "platform": "facebook",
            "parent": parent_id,
            "parent_url": parent.url,
            "parent_native_id": parent.native_id,
        },
    )


class FacebookConnector:
    """Polls one Facebook page: recent posts and their top-level comments."""

    kind = "facebook"

    def fetch(self, source: Source, settings: Settings) -> CrawlOutput:
        """Posts (up to max_pages pages) and comments; FetchError when the page cannot be read."""
        cfg = FacebookConfig.from_source(source)
        graph = _Graph(cfg, settings)
        output = CrawlOutput()
        params: dict[str, str | int] = {"fields": POST_FIELDS, "limit": cfg.page_size}
        if cfg.since is not None:
            params["since"] = cfg.since
        seen: set[str] = set()
        for _page in range(cfg.max_pages):
            data = graph.get(f"{cfg.page_id}/posts", params, f"posts of page {cfg.page_id}")
            posts = data.get("data")
            for post in posts if isinstance(posts, list) else ():
                item = _post_item(post, output.errors) if isinstance(post, dict) else None
                if item is None or item.native_id in seen:
                    continue
                seen.add(str(item.native_id))
                output.items.append(item)
                if cfg.comments and item.comments != 0 and not graph.throttled:
                    parent_id = document_id(
                        canonical_url(item.url) if item.url else None, source.id, item.native_id
                    )
                    output.items.extend(self._comments(graph, cfg, item, parent_id, output.errors))
            nxt = _next_params(data)
            if nxt is None or graph.throttled:
                break
            params = {**params, **nxt}
        if graph.throttled:
            output.errors.append(
                f"Graph API usage at {graph.usage}% of the app's limit: stopped early this poll"
            )
        return output

    def _comments(
        self,
        graph: _Graph,
        cfg: FacebookConfig,
        parent: FetchedItem,
        parent_id: str,
        errors: list[str],
    ) -> list[FetchedItem]:
        """Top-level comments of one post, newest first; errors other than rate limits and
        token problems skip this post's comments only."""
        items: list[FetchedItem] = []
        params: dict[str, str | int] = {
            "fields": COMMENT_FIELDS,
            "limit": 100,
            "filter": "toplevel",
            "order": "reverse_chronological",
        }
        for _page in range(cfg.max_comment_pages):
            try:
                data = graph.get(
                    f"{parent.native_id}/comments", params, f"comments of post {parent.native_id}"
                )
            except FetchError as exc:
                # Throttling, a dead token and network trouble end the poll (it is retried
                # whole); a post whose comments we may not read just goes without them.
                if exc.retryable or exc.status is None or isinstance(exc, GraphAuthError):
                    raise
                errors.append(str(exc))
                return items
            comments = data.get("data")
            for comment in comments if isinstance(comments, list) else ():
                item = (
                    _comment_item(comment, parent, parent_id) if isinstance(comment, dict) else None
                )
                if item is not None:
                    items.append(item)
            nxt = _next_params(data)
            if nxt is None or graph.throttled:
                break
            params = {**params, **nxt}
        return items


register_connector("facebook", FacebookConnector)
