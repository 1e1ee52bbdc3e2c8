"""The Facebook page connector against a fake Graph API on 127.0.0.1, through crawl()."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from core.models import Source
from core.settings import Settings
from crawlers.connectors.base import get_connector
from crawlers.connectors.facebook import FacebookConnector, GraphAuthError
from crawlers.connectors.social import RateLimitedError
from crawlers.identity import canonical_url, document_id
from crawlers.service import crawl
from tests.crawlers.conftest import Reply
from tests.crawlers.social.conftest import PAGE_ID, PAGE_TOKEN, add_source, documents
from tests.crawlers.social.fakeapis import FakeGraph, graph_error

POSTS = 4  # five posts, one without text
COMMENTS = 6  # seven comments, one sticker without text


def _source(session: Session, graph: FakeGraph, **config: object) -> Source:
    base = {"page_id": PAGE_ID, "access_token": PAGE_TOKEN, "api_base": graph.api_base}
    return add_source(
        session,
        "facebook",
        f"https://www.facebook.com/{PAGE_ID}",
        {"page_size": 2, **base, **config},
    )


def _posts_calls(graph: FakeGraph) -> list[dict[str, str]]:
    return [params for path, params in graph.calls if path.endswith("/posts")]


def test_posts_and_comments_are_stored_with_engagement(
    session: Session, settings: Settings, graph: FakeGraph
) -> None:
    # given
    source = _source(session, graph)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok", run.error
    assert (run.items_seen, run.items_new) == (POSTS + COMMENTS, POSTS + COMMENTS)
    assert "no message text" in (run.error or "")
    posts, comments = documents(session, "post"), documents(session, "comment")
    assert (len(posts), len(comments)) == (POSTS, COMMENTS)
    exam = graph.posts[0]
    post = next(p for p in posts if p.native_id == exam.id)
    assert post.url == graph.permalink(exam)
    assert post.id == document_id(canonical_url(graph.permalink(exam)))
    assert post.title == "THÔNG BÁO: Lịch thi tuyển sinh vào lớp 10 năm học 2025-2026"
    assert post.body.endswith("mang theo giấy báo dự thi và căn cước.")
    assert (post.likes, post.shares, post.comments) == (215, 48, 4)
    assert post.published_at == datetime(2025, 5, 20, 2, 30, tzinfo=UTC)
    assert post.classification is not None
    no_shares = next(p for p in posts if p.native_id == graph.posts[3].id)
    assert no_shares.shares == 30
    # comments hang off their post, identified by source + native id
    replies = [c for c in comments if c.meta["parent"] == post.id]
    assert {c.native_id for c in replies} == {
        "900000000000005_111",
        "900000000000005_112",
        "900000000000005_114",
    }
    mai = next(c for c in replies if c.native_id == "900000000000005_114")
    assert mai.id == document_id(source_id=source.id, native_id="900000000000005_114")
    assert (mai.author, mai.likes, mai.url) == ("Võ Thị Mai", 9, None)
    assert mai.published_at == datetime(2025, 5, 20, 5, 45, tzinfo=UTC)
    assert mai.meta["parent_url"] == post.url
    # three pages of posts (cursor paging), two of comments for the first post
    calls = _posts_calls(graph)
    assert len(calls) == 3 and "after" not in calls[0] and calls[1]["after"] and calls[2]["after"]
    assert all(
        c["access_token"] == PAGE_TOKEN and "reactions.summary" in c["fields"] for c in calls
    )
    first_post_comments = [p for path, p in graph.calls if path.endswith(f"{exam.id}/comments")]
    assert len(first_post_comments) == 2
    # a post without comments is not asked for any
    assert not any(path.endswith(f"{graph.posts[3].id}/comments") for path, _ in graph.calls)


def test_recrawl_updates_engagement_and_adds_only_new_comments(
    session: Session, settings: Settings, graph: FakeGraph
) -> None:
    # given
    source = _source(session, graph)
    crawl(session, source.id, settings=settings)
    graph.posts[0].reactions, graph.posts[0].shares = 390, 77
    graph.posts[0].comments.append(
        {
            "id": "900000000000005_115",
            "message": "Đã có lịch thi các môn chưa ạ?",
            "created_time": "2025-05-21T01:00:00+0000",
            "from": {"name": "Hồ Gia Linh", "id": "77"},
            "like_count": 0,
        }
    )
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok" and run.items_new == 1
    assert len(documents(session)) == POSTS + COMMENTS + 1
    post = next(p for p in documents(session, "post") if p.native_id == graph.posts[0].id)
    assert (post.likes, post.shares, post.comments) == (390, 77, 5)


@pytest.mark.parametrize(
    "reply",
    [
        graph_error(4, "(#4) Application request limit reached", status=403, transient=True),
        graph_error(
            32, "(#32) Page request limit reached", status=429, headers={"Retry-After": "120"}
        ),
    ],
    ids=["code-4", "http-429"],
)
def test_rate_limit_fails_the_poll_and_leaves_no_partial_results(
    session: Session, settings: Settings, graph: FakeGraph, reply: Reply
) -> None:
    # given the second page of posts is refused
    source = _source(session, graph)
    graph.fail_when(lambda path, params: "after" in params and path.endswith("/posts"), reply)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert run.status == "failed" and source.health == "failing"
    assert "rate limit" in (source.last_error or "")
    assert documents(session) == []
    if reply.status == 429:
        assert "retry after 120 s" in (source.last_error or "")
    # and when the limit lifts, the next poll stores everything exactly once
    graph.failures.clear()
    again = crawl(session, source.id, settings=settings)
    assert again.status == "ok" and len(documents(session)) == POSTS + COMMENTS
    session.refresh(source)
    assert source.health == "ok" and source.consecutive_failures == 0


def test_page_rate_limit_is_retryable_with_the_wait_it_gives(
    settings: Settings, graph: FakeGraph
) -> None:
    # given the Pages API throttles this business for 15 minutes
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 15}]}
    graph.fail_when(
        lambda path, params: True,
        graph_error(
            80001,
            "There have been too many calls to this Page account.",
            headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
        ),
    )
    source = Source(
        name="fb",
        kind="facebook",
        url="x",
        config={"page_id": PAGE_ID, "access_token": PAGE_TOKEN, "api_base": graph.api_base},
    )
    # when
    with pytest.raises(RateLimitedError) as caught:
        FacebookConnector().fetch(source, settings)
    # then
    assert caught.value.retryable and caught.value.retry_after_s == 900
    assert "code 80001" in str(caught.value) and "retry after 900 s" in str(caught.value)


def test_expired_token_gives_a_clear_error_without_the_token(
    session: Session, settings: Settings, graph: FakeGraph
) -> None:
    # given a token that has been replaced since
    graph.token = "EAAG-token-moi-cap"
    source = _source(session, graph)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert run.status == "failed" and source.health == "failing"
    error = source.last_error or ""
    assert "access token is invalid or expired" in error and "the token has expired" in error
    assert "code 190, subcode 463" in error and PAGE_TOKEN not in error
    with pytest.raises(GraphAuthError) as caught:
        get_connector("facebook").fetch(source, settings)
    assert not caught.value.retryable


def test_bad_page_id_is_reported_as_a_parameter_error(
    session: Session, settings: Settings, graph: FakeGraph
) -> None:
    # given
    source = _source(session, graph, page_id="khong-ton-tai")
    # when
    crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert "rejected a parameter (code 100, subcode 33" in (source.last_error or "")


def test_malformed_json_is_recorded(session: Session, settings: Settings, graph: FakeGraph) -> None:
    # given a truncated answer
    source = _source(session, graph)
    broken = Reply(
        body=b'{"data": [{"id": "1_2", "mess', headers={"Content-Type": "application/json"}
    )
    graph.fail_when(lambda path, params: path.endswith("/posts"), broken)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert run.status == "failed" and "malformed JSON" in (source.last_error or "")
    assert documents(session) == []


def test_unreadable_comments_skip_one_post_only(
    session: Session, settings: Settings, graph: FakeGraph
) -> None:
    # given the comments of one post need a permission the token lacks
    source = _source(session, graph)
    post_id = graph.posts[2].id
    graph.fail_when(
        lambda path, params: path.endswith(f"{post_id}/comments"),
        graph_error(
            10, "(#10) This endpoint requires the 'pages_read_user_content' permission", status=403
        ),
    )
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok" and "lacks a permission" in (run.error or "")
    assert len(documents(session, "post")) == POSTS
    assert len(documents(session, "comment")) == COMMENTS - 2


def test_high_app_usage_stops_the_poll_early(
    session: Session, settings: Settings, graph: FakeGraph
) -> None:
    # given the app has used 95% of its hourly calls
    graph.usage = 95
    source = _source(session, graph)
    # when
    run = crawl(session, source.id, settings=settings)
    # then one call only; what it gave is kept
    assert run.status == "ok" and "usage at 95%" in (run.error or "")
    assert len(graph.calls) == 1
    assert [d.native_id for d in documents(session)] == [graph.posts[0].id]


def test_network_errors_do_not_leak_the_token(session: Session, settings: Settings) -> None:
    # given an API address where nothing listens
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = add_source(
        session,
        "facebook",
        "https://www.facebook.com/x",
        {
            "page_id": PAGE_ID,
            "access_token": PAGE_TOKEN,
            "api_base": f"http://127.0.0.1:{port}/v19.0",
        },
    )
    # when
    crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert source.health == "failing" and "network error" in (source.last_error or "")
    assert PAGE_TOKEN not in (source.last_error or "") and "access_token=***" in (
        source.last_error or ""
    )


def test_missing_config_is_named(session: Session, settings: Settings) -> None:
    # given
    source = add_source(session, "facebook", "https://www.facebook.com/x", {"page_id": PAGE_ID})
    # when
    crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert source.last_error == "source config needs 'access_token'"


def test_since_is_sent_as_a_unix_time(
    session: Session, settings: Settings, graph: FakeGraph
) -> None:
    # given
    source = _source(session, graph, since="2025-05-12", comments=False)
    # when
    crawl(session, source.id, settings=settings)
    # then
    assert _posts_calls(graph)[0]["since"] == str(
        int(datetime(2025, 5, 12, tzinfo=UTC).timestamp())
    )
