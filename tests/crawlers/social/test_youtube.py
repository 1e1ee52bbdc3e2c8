"""The YouTube channel connector against a fake Data API v3 on 127.0.0.1, through crawl()."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from core.models import Source
from core.settings import Settings
from crawlers.connectors.social import RateLimitedError
from crawlers.connectors.youtube import YouTubeConnector, YouTubeKeyError
from crawlers.identity import canonical_url, document_id
from crawlers.service import crawl
from tests.crawlers.conftest import Reply
from tests.crawlers.social.conftest import API_KEY, CHANNEL_ID, add_source, documents
from tests.crawlers.social.fakeyoutube import QUOTA_EXCEEDED, FakeYouTube

VIDEOS = 4  # five uploads, one private
COMMENTS = 4


def _source(session: Session, youtube: FakeYouTube, **config: object) -> Source:
    base = {
        "channel_id": CHANNEL_ID,
        "api_key": API_KEY,
        "api_base": youtube.api_base,
        "max_comment_pages": 3,
    }
    return add_source(
        session, "youtube", f"https://www.youtube.com/channel/{CHANNEL_ID}", {**base, **config}
    )


def test_uploads_and_comments_are_stored_with_statistics(
    session: Session, settings: Settings, youtube: FakeYouTube
) -> None:
    # given
    source = _source(session, youtube)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok", run.error
    assert run.items_new == VIDEOS + COMMENTS
    videos, comments = documents(session, "video"), documents(session, "comment")
    assert (len(videos), len(comments)) == (VIDEOS, COMMENTS)
    news = next(v for v in videos if v.native_id == "hS3aK9pQx1A")
    assert news.url == "https://www.youtube.com/watch?v=hS3aK9pQx1A"
    assert news.id == document_id(canonical_url(news.url))
    assert news.title.startswith("Bản tin giáo dục tuần 20")
    assert news.body.startswith("Bản tin tổng hợp hoạt động")
    assert (news.likes, news.comments, news.meta["views"]) == (34, 3, 1520)
    assert news.author == "Sở GD&ĐT Hòa Bình Xanh"
    assert news.published_at == datetime(2025, 5, 21, 11, 0, tzinfo=UTC)
    # top-level comments, paged two at a time, hang off their video
    under_news = [c for c in comments if c.meta["parent"] == news.id]
    assert {c.native_id for c in under_news} == {"UgxA1", "UgxA2", "UgxA3"}
    first = next(c for c in under_news if c.native_id == "UgxA1")
    assert (first.author, first.likes, first.body) == (
        "@phuhuynhlop9",
        5,
        "Cảm ơn Sở, bản tin rất dễ hiểu.",
    )
    assert first.id == document_id(source_id=source.id, native_id="UgxA1")
    # the playlist was read across three pages; turned-off comments are not an error
    pages = [p for path, p in youtube.calls if path.endswith("/playlistItems")]
    assert [p.get("pageToken") for p in pages] == [None, "2", "4"]
    assert "video Pv0000000aa: not available" in (run.error or "")
    assert "commentsDisabled" not in (run.error or "")
    threads = [p for path, p in youtube.calls if path.endswith("/commentThreads")]
    assert all(p["textFormat"] == "plainText" and p["key"] == API_KEY for p in threads)
    assert [p.get("pageToken") for p in threads if p["videoId"] == news.native_id] == [None, "2"]
    # a video with no comments costs no comment call
    assert "Qe9Rt1Yu3Io" not in {p["videoId"] for p in threads}


def test_recrawl_updates_statistics_without_duplicates(
    session: Session, settings: Settings, youtube: FakeYouTube
) -> None:
    # given
    source = _source(session, youtube)
    crawl(session, source.id, settings=settings)
    youtube.videos[0].views, youtube.videos[0].likes = 4100, 88
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok" and run.items_new == 0
    assert len(documents(session)) == VIDEOS + COMMENTS
    news = next(v for v in documents(session, "video") if v.native_id == "hS3aK9pQx1A")
    assert news.likes == 88


def test_quota_exceeded_fails_the_poll_without_partial_results(
    session: Session, settings: Settings, youtube: FakeYouTube
) -> None:
    # given the quota runs out in the middle of the poll
    source = _source(session, youtube)
    youtube.fail_when(lambda path, params: path.endswith("/commentThreads"), QUOTA_EXCEEDED)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert run.status == "failed" and source.health == "failing"
    error = source.last_error or ""
    assert "quota or rate limit reached (HTTP 403, quotaExceeded)" in error
    assert "<a href" not in error and API_KEY not in error
    assert documents(session) == []
    # and the next day the whole channel comes in once
    youtube.failures.clear()
    assert crawl(session, source.id, settings=settings).status == "ok"
    assert len(documents(session)) == VIDEOS + COMMENTS


def test_quota_exceeded_is_retryable(settings: Settings, youtube: FakeYouTube) -> None:
    # given
    youtube.fail_when(lambda path, params: True, QUOTA_EXCEEDED)
    source = Source(
        name="yt",
        kind="youtube",
        url="x",
        config={"channel_id": CHANNEL_ID, "api_key": API_KEY, "api_base": youtube.api_base},
    )
    # when
    with pytest.raises(RateLimitedError) as caught:
        YouTubeConnector().fetch(source, settings)
    # then the wait is until the quota resets, at most a day
    assert caught.value.retryable
    assert 60 <= (caught.value.retry_after_s or 0) <= 86_400


def test_invalid_key_gives_a_clear_error(
    session: Session, settings: Settings, youtube: FakeYouTube
) -> None:
    # given
    source = _source(session, youtube, api_key="AIzaSy-khoa-da-thu-hoi")
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert run.status == "failed"
    assert "YouTube API key is invalid or expired" in (source.last_error or "")
    assert "khoa-da-thu-hoi" not in (source.last_error or "")
    with pytest.raises(YouTubeKeyError) as caught:
        YouTubeConnector().fetch(source, settings)
    assert not caught.value.retryable


def test_malformed_json_is_recorded(
    session: Session, settings: Settings, youtube: FakeYouTube
) -> None:
    # given
    source = _source(session, youtube)
    youtube.fail_when(
        lambda path, params: path.endswith("/videos"),
        Reply(body=b'{"kind": "youtube#videoListResponse", "items": [', headers={}),
    )
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "failed" and "video details: malformed JSON" in (run.error or "")


def test_unknown_channel_is_reported(
    session: Session, settings: Settings, youtube: FakeYouTube
) -> None:
    # given
    source = _source(session, youtube, channel_id="UCkhongtontai000000000000")
    # when
    crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert "not found" in (source.last_error or "") and source.health == "failing"


def test_max_videos_bounds_the_poll(
    session: Session, settings: Settings, youtube: FakeYouTube
) -> None:
    # given
    source = _source(session, youtube, max_videos=2, comments=False)
    # when
    run = crawl(session, source.id, settings=settings)
    # then only the two newest uploads, one playlist page, no comment calls
    assert run.status == "ok"
    assert {d.native_id for d in documents(session)} == {"hS3aK9pQx1A", "Zt7Lm2Nq8Rb"}
    assert sum(path.endswith("/playlistItems") for path, _ in youtube.calls) == 1
    assert not any(path.endswith("/commentThreads") for path, _ in youtube.calls)
