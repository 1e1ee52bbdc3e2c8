"""YouTube channels through the Data API v3: the uploads playlist (pageToken paging), video
details and statistics, and top-level comments; API error reasons decide retry or skip."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.models import Source, utcnow
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
    parse_time,
    retry_after_seconds,
    status_error,
)
from crawlers.http import FetchError
from crawlers.identity import canonical_url, document_id

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://www.googleapis.com/youtube/v3"
WATCH_URL = "https://www.youtube.com/watch?v={}"
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
RATE_LIMIT_REASONS = frozenset(
    {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded"}
)
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"})
# The video's comments are off or gone; the video itself is still worth keeping.
SKIP_COMMENT_REASONS = frozenset({"commentsDisabled", "videoNotFound", "forbidden"})
TRANSIENT_REASONS = frozenset({"backendError", "internalError", "serviceUnavailable"})
# videos.list takes at most 50 ids per call.
VIDEOS_PER_CALL = 50
_TAG_RE = re.compile(r"<[^>]+>")


class YouTubeApiError(FetchError):
    """An error answer of the Data API; `reasons` are its errors[].reason values."""

    def __init__(
        self, message: str, *, status: int, retryable: bool = False, reasons: frozenset[str]
    ) -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.reasons = reasons


class YouTubeKeyError(YouTubeApiError):
    """The API key was refused: no retry helps until an admin replaces it."""


@dataclass(frozen=True)
class YouTubeConfig:
    """Source.config of a YouTube channel source."""

    channel_id: str
    api_key: str
    api_base: str
    max_videos: int
    comments: bool
    max_comment_pages: int

    @classmethod
    def from_source(cls, source: Source) -> YouTubeConfig:
        """Read and check the config; FetchError (not retryable) names what is wrong."""
        config = source.config or {}
        return cls(
            channel_id=config_str(config, "channel_id"),
            api_key=config_str(config, "api_key"),
            api_base=config_str(config, "api_base", DEFAULT_API_BASE).rstrip("/"),
            max_videos=config_int(config, "max_videos", 50, low=1, high=500),
            comments=bool(config.get("comments", True)),
            max_comment_pages=config_int(config, "max_comment_pages", 1, low=1, high=20),
        )


class _Api:
    """Data API calls of one poll: the key, error mapping."""

    def __init__(self, cfg: YouTubeConfig, settings: Settings) -> None:
        self.cfg = cfg
        self.settings = settings

    def get(self, resource: str, params: dict[str, str | int], what: str) -> dict[str, Any]:
        """One API call; FetchError (RateLimitedError, YouTubeKeyError) on an error answer."""
        response = api_get(
            f"{self.cfg.api_base}/{resource}",
            {**params, "key": self.cfg.api_key},
            settings=self.settings,
            secrets=(self.cfg.api_key,),
        )
        if response.status >= 400:
            raise _error(response, what)
        data = response.json(what)
        if isinstance(data.get("error"), dict):
            raise _error(response, what)
        return data


def _error(response: ApiResponse, what: str) -> FetchError:
    status = response.status
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    try:
        error = response.json(what).get("error")
    except FetchError:
        error = None
    if not isinstance(error, dict):
        return status_error(status, what, "YouTube API", retry_after)
    # errors[].reason is the classic form; newer answers add google.rpc details[].reason.
    entries = [*(error.get("errors") or []), *(error.get("details") or [])]
    found = frozenset(str(e["reason"]) for e in entries if isinstance(e, dict) and e.get("reason"))
    # Messages come with HTML links in them ("exceeded your <a href=...>quota</a>").
    message = clean(_TAG_RE.sub("", str(error.get("message") or "no message"))).rstrip(".")
    detail = f"HTTP {status}" + (f", {', '.join(sorted(found))}" if found else "")
    if status == 429 or found & RATE_LIMIT_REASONS:
        note = ""
        if "quotaExceeded" in found and retry_after is None:
            # The daily quota resets at midnight Pacific time; polling sooner only fails again.
            retry_after = _seconds_to_quota_reset()
            note = " (the daily quota resets at midnight Pacific time)"
        wait = (f"; retry after {retry_after} s" if retry_after else "") + note
        return RateLimitedError(
            f"{what}: YouTube API quota or rate limit reached ({detail}): {message}{wait}",
            status=status,
            retry_after_s=retry_after,
        )
    if found & KEY_REASONS or (status == 400 and "API key" in message):
        return YouTubeKeyError(
            f"{what}: the YouTube API key is invalid or expired ({detail}): {message}. "
            "Put a valid key in the source's config.",
            status=status,
            reasons=found,
        )
    transient = status >= 500 or bool(found & TRANSIENT_REASONS)
    return YouTubeApiError(
        f"{what}: YouTube API error ({detail}): {message}",
        status=status,
        retryable=transient,
        reasons=found,
    )


def _seconds_to_quota_reset(now: datetime | None = None) -> int:
    """Seconds until the next midnight in America/Los_Angeles."""
    local = (now or utcnow()).astimezone(QUOTA_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time.min, QUOTA_ZONE)
    return max(60, int((midnight - local).total_seconds()))


def _uploads_playlist(api: _Api, channel_id: str) -> str:
    data = api.get(
        "channels", {"part": "contentDetails", "id": channel_id}, f"channel {channel_id}"
    )
    for channel in data.get("items") or ():
        uploads = (channel.get("contentDetails") or {}).get("relatedPlaylists", {}).get("uploads")
        if isinstance(uploads, str) and uploads:
            return uploads
    raise FetchError(f"channel {channel_id}: not found, or it has no uploads playlist")


def _video_ids(api: _Api, playlist_id: str, limit: int) -> list[str]:
    """Ids of the newest `limit` uploads (the playlist lists newest first)."""
    ids: list[str] = []
    params: dict[str, str | int] = {
        "part": "snippet,contentDetails",
        "playlistId": playlist_id,
        "maxResults": 50,
    }
    while len(ids) < limit:
        data = api.get("playlistItems", params, f"uploads playlist {playlist_id}")
        for entry in data.get("items") or ():
            details = entry.get("contentDetails") or {}
            video_id = details.get("videoId") or (
                (entry.get("snippet") or {}).get("resourceId") or {}
            ).get("videoId")
            if isinstance(video_id, str) and video_id and video_id not in ids:
                ids.append(video_id)
        token = data.get("nextPageToken")
        if not isinstance(token, str) or not token or token == params.get("pageToken"):
            break
        params = {**params, "pageToken": token}
    return ids[:limit]


def _video_item(video: dict[str, Any]) -> FetchedItem | None:
    video_id = video.get("id")
    snippet = video.get("snippet") or {}
    title = clean(snippet.get("title"))
    if not isinstance(video_id, str) or not title:
        return None
    stats = video.get("statistics") or {}
    meta: dict[str, Any] = {"platform": "youtube", "channel_id": snippet.get("channelId")}
    views = count(stats.get("viewCount"))
    if views is not None:
        meta["views"] = views
    if snippet.get("tags"):
        meta["tags"] = [str(t) for t in snippet["tags"]][:30]
    if snippet.get("liveBroadcastContent") not in (None, "none"):
        meta["live"] = snippet["liveBroadcastContent"]
    return FetchedItem(
        url=WATCH_URL.format(video_id),
        title=title,
        body=clean(snippet.get("description")),
        author=clean(snippet.get("channelTitle")) or None,
        published_at=parse_time(snippet.get("publishedAt")),
        native_id=video_id,
        kind="video",
        # Hidden like counts are simply absent, which is not the same as zero.
        likes=count(stats.get("likeCount")),
        comments=count(stats.get("commentCount")),
        meta=meta,
    )


def _comment_item(thread: dict[str, Any], parent_id: str, video_url: str) -> FetchedItem | None:
    top = ((thread.get("snippet") or {}).get("topLevelComment") or {}).get("snippet") or {}
    thread_id = thread.get("id")
    # textOriginal is what the author typed; textDisplay may be rendered for display.
    text = clean(top.get("textOriginal") or top.get("textDisplay"))
    if not isinstance(thread_id, str) or not text:
        return None
    return FetchedItem(
        url=None,
        body=text,
        author=clean(top.get("authorDisplayName")) or None,
        published_at=parse_time(top.get("publishedAt")),
        native_id=thread_id,
        kind="comment",
        likes=count(top.get("likeCount")),
        meta={
            "platform": "youtube",
            "parent": parent_id,
            "parent_url": video_url,
            "replies": count((thread.get("snippet") or {}).get("totalReplyCount")) or 0,
        },
    )


class YouTubeConnector:
    """Polls one YouTube channel: newest uploads with statistics, and their comments."""

    kind = "youtube"

    def fetch(self, source: Source, settings: Settings) -> CrawlOutput:
        """Videos (up to max_videos) and comments; FetchError when the channel cannot be read."""
        cfg = YouTubeConfig.from_source(source)
        api = _Api(cfg, settings)
        output = CrawlOutput()
        playlist = _uploads_playlist(api, cfg.channel_id)
        ids = _video_ids(api, playlist, cfg.max_videos)
        videos: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), VIDEOS_PER_CALL):
            chunk = ids[start : start + VIDEOS_PER_CALL]
            data = api.get(
                "videos", {"part": "snippet,statistics", "id": ",".join(chunk)}, "video details"
            )
            videos.update((v["id"], v) for v in data.get("items") or () if v.get("id"))
        for video_id in ids:
            video = videos.get(video_id)
            # Private and deleted uploads stay in the playlist but videos.list omits them.
            item = _video_item(video) if video else None
            if item is None:
                output.errors.append(f"video {video_id}: not available, skipped")
                continue
            output.items.append(item)
            if cfg.comments and item.comments != 0:
                url = WATCH_URL.format(video_id)
                parent_id = document_id(canonical_url(url))
                output.items.extend(
                    self._comments(api, cfg, video_id, parent_id, url, output.errors)
                )
        return output

    def _comments(
        self,
        api: _Api,
        cfg: YouTubeConfig,
        video_id: str,
        parent_id: str,
        video_url: str,
        errors: list[str],
    ) -> list[FetchedItem]:
        """Top-level comments of one video, newest first; disabled comments are no error."""
        items: list[FetchedItem] = []
        params: dict[str, str | int] = {
            "part": "snippet",
            "videoId": video_id,
            "maxResults": 100,
            "textFormat": "plainText",
            "order": "time",
        }
        for _page in range(cfg.max_comment_pages):
            try:
                data = api.get("commentThreads", params, f"comments of video {video_id}")
            except YouTubeApiError as exc:
                if exc.retryable or not exc.reasons & SKIP_COMMENT_REASONS:
                    raise
                # Comments turned off by the channel are normal, not worth a note.
                if "commentsDisabled" not in exc.reasons:
                    errors.append(str(exc))
                log.debug("video %s: comments skipped (%s)", video_id, exc)
                return items
            for thread in data.get("items") or ():
                item = _comment_item(thread, parent_id, video_url)
                if item is not None:
                    items.append(item)
            token = data.get("nextPageToken")
            if not isinstance(token, str) or not token:
                break
            params = {**params, "pageToken": token}
        return items


register_connector("youtube", YouTubeConnector)
