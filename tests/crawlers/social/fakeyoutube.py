"""A fake YouTube Data API v3 on 127.0.0.1: channels, playlistItems, videos and commentThreads
in the real JSON shapes, pageToken paging, and the API's error objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.crawlers.conftest import Reply
from tests.crawlers.social.fakeapis import ApiServer, Params, json_reply


def youtube_error(status: int, reason: str, message: str, domain: str = "youtube.api") -> Reply:
    """A Data API error answer: {"error": {code, message, errors: [{reason, ...}]}}."""
    error = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    return json_reply({"error": error}, status)


QUOTA_EXCEEDED = youtube_error(
    403,
    "quotaExceeded",
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
    'getting-started#quota">quota</a>.',
    "youtube.quota",
)


@dataclass
class YouTubeVideo:
    """One upload as the fake Data API stores it."""

    id: str
    title: str
    description: str
    published_at: str
    views: int = 0
    likes: int = 0
    comments: list[dict[str, Any]] = field(default_factory=list)
    comments_disabled: bool = False
    private: bool = False


class FakeYouTube(ApiServer):
    """Data API v3: channels, playlistItems, videos, commentThreads with pageToken paging."""

    def __init__(self, channel_id: str, key: str) -> None:
        super().__init__()
        self.channel_id = channel_id
        self.key = key
        self.videos: list[YouTubeVideo] = []  # newest first, as the uploads playlist
        self.page_size = 2

    @property
    def api_base(self) -> str:
        return f"{self.origin}/youtube/v3"

    @property
    def uploads(self) -> str:
        return "UU" + self.channel_id[2:]

    def route(self, path: str, params: Params) -> Reply:
        if params.get("key") != self.key:
            return json_reply(
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "errors": [
                            {
                                "message": "API key not valid. Please pass a valid API key.",
                                "domain": "global",
                                "reason": "badRequest",
                            }
                        ],
                        "status": "INVALID_ARGUMENT",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_INVALID",
                                "domain": "googleapis.com",
                            }
                        ],
                    }
                },
                400,
            )
        resource = path.removeprefix("/youtube/v3/")
        handler = {
            "channels": self._channels,
            "playlistItems": self._playlist_items,
            "videos": self._videos,
            "commentThreads": self._comment_threads,
        }.get(resource)
        if handler is None:
            return youtube_error(404, "notFound", "Not Found", "global")
        return handler(params)

    def _paged(self, kind: str, rows: list[dict[str, Any]], params: Params) -> Reply:
        start = int(params.get("pageToken") or 0)
        chunk = rows[start : start + self.page_size]
        data: dict[str, Any] = {
            "kind": f"youtube#{kind}ListResponse",
            "etag": "tag-" + str(start),
            "pageInfo": {"totalResults": len(rows), "resultsPerPage": self.page_size},
            "items": chunk,
        }
        if start + self.page_size < len(rows):
            data["nextPageToken"] = str(start + self.page_size)
        return json_reply(data)

    def _channels(self, params: Params) -> Reply:
        items = []
        if params.get("id") == self.channel_id:
            items.append(
                {
                    "kind": "youtube#channel",
                    "etag": "kenh",
                    "id": self.channel_id,
                    "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": self.uploads}},
                }
            )
        return json_reply(
            {
                "kind": "youtube#channelListResponse",
                "etag": "ds-kenh",
                "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
                "items": items,
            }
        )

    def _playlist_items(self, params: Params) -> Reply:
        if params.get("playlistId") != self.uploads:
            return youtube_error(
                404,
                "playlistNotFound",
                "The playlist identified with the request's <code>playlistId</code> "
                "parameter cannot be found.",
                "youtube.playlistItem",
            )
        rows = [
            {
                "kind": "youtube#playlistItem",
                "etag": f"pl-{v.id}",
                "id": f"UExp{v.id}",
                "snippet": {
                    "publishedAt": v.published_at,
                    "channelId": self.channel_id,
                    "title": "Private video" if v.private else v.title,
                    "description": "",
                    "playlistId": self.uploads,
                    "position": i,
                    "resourceId": {"kind": "youtube#video", "videoId": v.id},
                },
                "contentDetails": {"videoId": v.id, "videoPublishedAt": v.published_at},
            }
            for i, v in enumerate(self.videos)
        ]
        return self._paged("playlistItem", rows, params)

    def _videos(self, params: Params) -> Reply:
        wanted = params.get("id", "").split(",")
        items = [
            {
                "kind": "youtube#video",
                "etag": f"v-{v.id}",
                "id": v.id,
                "snippet": {
                    "publishedAt": v.published_at,
                    "channelId": self.channel_id,
                    "title": v.title,
                    "description": v.description,
                    "channelTitle": "Sở GD&ĐT Hòa Bình Xanh",
                    "tags": ["giáo dục", "tuyển sinh"],
                    "categoryId": "27",
                    "liveBroadcastContent": "none",
                },
                "statistics": _statistics(v),
            }
            for v in self.videos
            if v.id in wanted and not v.private
        ]
        return json_reply(
            {
                "kind": "youtube#videoListResponse",
                "etag": "ds-video",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )

    def _comment_threads(self, params: Params) -> Reply:
        video = next((v for v in self.videos if v.id == params.get("videoId")), None)
        if video is None:
            return youtube_error(
                404,
                "videoNotFound",
                "The video identified by the videoId parameter could not be found.",
                "youtube.commentThread",
            )
        if video.comments_disabled:
            return youtube_error(
                403,
                "commentsDisabled",
                'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/'
                'list#videoId">videoId</a></code> parameter has disabled comments.',
                "youtube.commentThread",
            )
        rows = []
        for c in reversed(video.comments):  # order=time: newest first
            top = {
                "kind": "youtube#comment",
                "etag": f"c-{c['id']}",
                "id": c["id"],
                "snippet": {
                    "channelId": self.channel_id,
                    "videoId": video.id,
                    "textDisplay": c["text"],
                    "textOriginal": c["text"],
                    "authorDisplayName": c["author"],
                    "authorChannelUrl": "http://www.youtube.com/@nguoixem",
                    "canRate": True,
                    "viewerRating": "none",
                    "likeCount": c.get("likes", 0),
                    "publishedAt": c["published_at"],
                    "updatedAt": c["published_at"],
                },
            }
            rows.append(
                {
                    "kind": "youtube#commentThread",
                    "etag": f"t-{c['id']}",
                    "id": c["id"],
                    "snippet": {
                        "channelId": self.channel_id,
                        "videoId": video.id,
                        "topLevelComment": top,
                        "canReply": True,
                        "totalReplyCount": c.get("replies", 0),
                        "isPublic": True,
                    },
                }
            )
        return self._paged("commentThread", rows, params)


def _statistics(video: YouTubeVideo) -> dict[str, str]:
    stats = {"viewCount": str(video.views), "likeCount": str(video.likes), "favoriteCount": "0"}
    # With comments turned off the API leaves commentCount out.
    if not video.comments_disabled:
        stats["commentCount"] = str(len(video.comments))
    return stats
