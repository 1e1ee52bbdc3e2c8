"""Crawling sources end to end: the demo site into the database, failures recorded on the
source, scheduling with backoff, and the Celery task entry points."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import session_scope
from core.models import CrawlRun, Document, Source, utcnow
from core.settings import Settings
from crawlers.service import CrawlRetry, claim_due_sources, crawl
from crawlers.sources import add_source
from crawlers.tasks import crawl_source, schedule_sources
from fixtureweb.demo import DEMO_SOURCE_NAME, DemoArticle, DemoSite, register_demo_source
from tests.crawlers.conftest import LocalServer, Reply, Route, fixture_bytes


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/rss.xml"


def _docs(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Document)) or 0)


def test_crawl_of_the_demo_site_fills_the_database(
    session: Session, settings: Settings, demo_site: DemoSite
) -> None:
    # given
    source = register_demo_source(session, demo_site.feed_url)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    n = len(demo_site.articles)
    assert run.status == "ok" and run.finished_at is not None
    assert (run.items_seen, run.items_new, run.items_updated) == (n, n, 0)
    assert _docs(session) == n
    session.refresh(source)
    assert source.health == "ok" and source.consecutive_failures == 0
    assert source.etag and source.last_modified and source.last_success_at
    assert source.items_total == n
    assert source.next_poll_at is not None and source.next_poll_at > utcnow()
    newest = demo_site.articles[0]
    doc = session.scalars(select(Document).where(Document.title == newest.title)).one()
    assert doc.url == demo_site.article_url(newest)
    assert doc.lead == newest.lead and doc.body.split("\n\n") == newest.paragraphs
    assert doc.published_at == newest.published_at.replace(microsecond=0)
    assert doc.classification is not None


def test_second_crawl_is_a_conditional_get(
    session: Session, settings: Settings, demo_site: DemoSite
) -> None:
    # given
    source = register_demo_source(session, demo_site.feed_url)
    crawl(session, source.id, settings=settings)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "not_modified"
    assert (run.items_seen, run.items_new) == (0, 0)
    session.refresh(source)
    assert source.health == "ok" and source.etag


def test_new_article_on_the_site_is_picked_up(
    session: Session, settings: Settings, demo_site: DemoSite
) -> None:
    # given
    source = register_demo_source(session, demo_site.feed_url)
    crawl(session, source.id, settings=settings)
    demo_site.add_article(
        DemoArticle(
            slug="tin-moi",
            title="Tin mới: học sinh được nghỉ học do bão",
            lead="Sở GDĐT cho học sinh toàn tỉnh nghỉ học ngày mai.",
            paragraphs=["Quyết định nhằm bảo đảm an toàn cho học sinh."],
            published_at=utcnow(),
        )
    )
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok" and run.items_new == 1
    assert _docs(session) == len(demo_site.articles)


def test_unreachable_source_is_recorded_as_failing_not_raised(
    session: Session, settings: Settings
) -> None:
    # given
    source = add_source(session, name="Báo tắt máy", url=_dead_url(), settings=settings)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "failed" and run.error and "network error" in run.error
    session.refresh(source)
    assert source.health == "failing" and source.consecutive_failures == 1
    assert source.last_error == run.error and source.last_error_at is not None
    assert source.last_success_at is None


def test_source_is_flagged_after_the_failure_threshold(
    session: Session, settings: Settings
) -> None:
    # given
    source = add_source(session, name="Báo tắt máy", url=_dead_url(), settings=settings)
    # when
    for _ in range(settings.crawl.source_failure_threshold):
        crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert source.consecutive_failures == settings.crawl.source_failure_threshold
    assert source.health == "flagged"
    source.next_poll_at = None
    session.commit()
    assert claim_due_sources(session) == []


def test_recovery_resets_the_failure_count(
    session: Session, settings: Settings, demo_site: DemoSite
) -> None:
    # given: a source that failed twice
    source = register_demo_source(session, _dead_url())
    crawl(session, source.id, settings=settings)
    crawl(session, source.id, settings=settings)
    # when: the site is back
    source.url = demo_site.feed_url
    session.commit()
    crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert (source.health, source.consecutive_failures) == ("ok", 0)


def test_source_kind_without_connector_is_recorded(session: Session, settings: Settings) -> None:
    # given
    source = Source(name="Trang TikTok", kind="tiktok", url="https://tiktok.com/@x")
    session.add(source)
    session.commit()
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "failed" and "no connector" in (run.error or "")


def test_claim_due_sources_skips_disabled_flagged_and_future(session: Session) -> None:
    # given
    now = utcnow()
    due = Source(name="a", url="http://x.vn/a", next_poll_at=None)
    late = Source(name="b", url="http://x.vn/b", next_poll_at=now - timedelta(minutes=1))
    future = Source(name="c", url="http://x.vn/c", next_poll_at=now + timedelta(minutes=5))
    off = Source(name="d", url="http://x.vn/d", enabled=False)
    flagged = Source(name="e", url="http://x.vn/e", health="flagged")
    failing = Source(name="f", url="http://x.vn/f", poll_interval_s=60, consecutive_failures=3)
    session.add_all([due, late, future, off, flagged, failing])
    session.commit()
    # when
    claimed = claim_due_sources(session, now=now)
    # then
    assert sorted(claimed) == sorted([due.id, late.id, failing.id])
    session.refresh(failing)
    assert failing.next_poll_at == now + timedelta(seconds=60 * 2**3)
    assert claim_due_sources(session, now=now) == []


def test_tasks_run_and_never_raise(
    session: Session, settings: Settings, demo_site: DemoSite
) -> None:
    # given
    source = register_demo_source(session, demo_site.feed_url)
    dead = add_source(session, name="Báo tắt máy", url=_dead_url(), settings=settings)
    # when: called as the worker would, each with its own session
    queued = schedule_sources()
    ok = crawl_source(source.id)
    failed = crawl_source(dead.id)
    missing = crawl_source(999_999)
    # then
    assert queued == 2
    assert (ok, failed, missing) == ("ok", "failed", None)
    runs = session.scalar(select(func.count()).select_from(CrawlRun))
    assert runs == 2


def test_add_source_validates_with_vietnamese_messages(
    session: Session, settings: Settings
) -> None:
    # given
    strict = settings.copy_with(http={"allowed_private_networks": ""})
    add_source(session, name="Báo A", url="http://127.0.0.1:9/rss.xml", settings=settings)
    cases = [
        ({"name": "", "url": "https://x.vn/rss"}, "tên nguồn"),
        ({"name": "Báo A", "url": "https://x.vn/rss"}, "Đã có nguồn"),
        ({"name": "B", "url": "ftp://x.vn/rss"}, "http://"),
        ({"name": "B", "url": "https://x.vn/rss", "kind": "fax"}, "Chưa hỗ trợ"),
        ({"name": "B", "url": "https://x.vn/rss", "scope": "galaxy"}, "Phạm vi"),
        ({"name": "B", "url": "https://x.vn/rss", "poll_interval_s": 5}, "Chu kỳ quét"),
        ({"name": "B", "url": "http://10.0.0.8/rss"}, "mạng nội bộ"),
        ({"name": "B", "url": "http://169.254.169.254/latest"}, "mạng nội bộ"),
    ]
    for kwargs, message in cases:
        # when / then
        with pytest.raises(ValueError, match=message):
            add_source(session, settings=strict, **kwargs)  # type: ignore[arg-type]


def test_register_demo_source_repoints_and_resets(session: Session) -> None:
    # given
    first = register_demo_source(session, "http://127.0.0.1:1111/rss.xml")
    first.etag, first.health, first.next_poll_at = '"old"', "flagged", utcnow()
    session.commit()
    # when
    again = register_demo_source(session, "http://127.0.0.1:2222/rss.xml")
    # then
    assert again.id == first.id and again.name == DEMO_SOURCE_NAME
    assert again.url.endswith(":2222/rss.xml") and again.etag is None
    assert again.next_poll_at is None and again.health == "unknown"
    assert (again.kind, again.scope, again.poll_interval_s) == ("rss", "local", 30)


# ------------------------------------------------------------- retries and faults


def _feed_source(session: Session, server: LocalServer, path: str, reply: Route) -> Source:
    source = Source(name=f"Báo {path}", url=server.route(path, reply), poll_interval_s=900)
    session.add(source)
    session.commit()
    return source


def test_an_unreachable_source_retrying_on_schedule_is_not_left_unscanned_with_0_failures(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given: a source whose server keeps answering 503, crawled as the Celery task does
    source = _feed_source(session, server, "/busy.xml", Reply(503, b"busy"))
    # when: the first attempt of a scheduled crawl fails and a retry is queued
    with pytest.raises(CrawlRetry) as retry:
        crawl(session, source.id, settings=settings, attempt=0, max_attempts=4)
    # then: the failure is on the source and the run at once, not only after the last retry
    assert retry.value.countdown == 112.5
    run = session.scalars(select(CrawlRun)).one()
    assert run.status == "retrying" and "HTTP 503" in (run.error or "")
    session.refresh(source)
    assert (source.health, source.consecutive_failures) == ("failing", 1)
    assert source.last_error is not None and "retrying in 112.5s" in source.last_error
    assert source.next_poll_at is not None
    assert source.next_poll_at >= utcnow() + timedelta(seconds=112 + 1800 - 5)


def test_scheduled_retries_flag_the_source_after_the_same_count_as_the_cli(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given: a source that never answers, and the threshold `diemtin crawl` flags at (5)
    source = _feed_source(session, server, "/down.xml", Reply(503, b"down"))
    threshold = settings.crawl.source_failure_threshold
    statuses = []
    # when: one scheduled crawl runs its first attempt and its three Celery retries, then
    # the next scheduled crawl starts
    for attempt in [0, 1, 2, 3, 0]:
        try:
            run = crawl(session, source.id, settings=settings, attempt=attempt, max_attempts=4)
            statuses.append(run.status)
        except CrawlRetry:
            statuses.append("retrying")
    # then: every attempt counted; the fifth flags the source and is not retried
    assert statuses == ["retrying", "retrying", "retrying", "failed", "failed"]
    session.refresh(source)
    assert (source.health, source.consecutive_failures) == ("flagged", threshold)
    runs = session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)).all()
    assert runs == statuses
    source.next_poll_at = None
    session.commit()
    assert claim_due_sources(session) == []


def test_the_last_attempt_records_the_failure(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given
    source = _feed_source(session, server, "/busy.xml", Reply(503, b"busy"))
    # when
    run = crawl(session, source.id, settings=settings, attempt=3, max_attempts=4)
    # then
    session.refresh(source)
    assert run.status == "failed"
    assert (source.health, source.consecutive_failures) == ("failing", 1)


def test_retry_after_is_honoured(session: Session, settings: Settings, server: LocalServer) -> None:
    # given: a short wait asked for, and one longer than any retry would wait
    soon = _feed_source(session, server, "/soon.xml", Reply(429, headers={"Retry-After": "300"}))
    late = _feed_source(session, server, "/late.xml", Reply(429, headers={"Retry-After": "7200"}))
    # when
    with pytest.raises(CrawlRetry) as retry:
        crawl(session, soon.id, settings=settings, attempt=0, max_attempts=4)
    run = crawl(session, late.id, settings=settings, attempt=0, max_attempts=4)
    # then: 300 s beats our 112.5 s backoff; 7200 s skips the retries and moves the poll
    assert retry.value.countdown == 300
    assert run.status == "failed"
    session.refresh(late)
    assert late.next_poll_at is not None
    assert late.next_poll_at >= utcnow() + timedelta(seconds=7200 - 5)


@pytest.mark.parametrize(
    ("path", "reply", "message"),
    [
        ("/forbidden.xml", Reply(403, b"no bots"), "refuses the crawler"),
        ("/gone.xml", Reply(404, b"gone"), "no longer exists"),
        ("/loop.xml", Reply(302, headers={"Location": "/loop.xml"}), "redirect loop"),
    ],
)
def test_permanent_failures_are_never_retried(
    session: Session, settings: Settings, server: LocalServer, path: str, reply: Reply, message: str
) -> None:
    # given
    source = _feed_source(session, server, path, reply)
    # when: attempts are left, but waiting would not help
    run = crawl(session, source.id, settings=settings, attempt=0, max_attempts=4)
    # then
    assert run.status == "failed" and message in (run.error or "")
    assert len(server.requests) == 1


def test_feed_faults_end_to_end_lose_and_duplicate_nothing(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given: duplicates, an item without a link, one without a date, one dated 2099
    rss = {"Content-Type": "application/rss+xml"}
    good = _feed_source(
        session, server, "/good.xml", Reply(body=fixture_bytes("feeds/good.xml"), headers=rss)
    )
    broken = _feed_source(
        session,
        server,
        "/broken.xml",
        Reply(body=fixture_bytes("feeds/malformed.xml"), headers=rss),
    )
    # when: each crawled twice (no validators, so the second is a full re-read)
    runs = [crawl(session, s.id, settings=settings) for s in (good, broken, good, broken)]
    # then
    assert [r.status for r in runs] == ["ok"] * 4
    assert [(r.items_new, r.items_updated) for r in runs] == [(4, 0), (2, 0), (0, 0), (0, 0)]
    assert "neither link nor guid" in (runs[0].error or "") and "future" in (runs[0].error or "")
    assert "malformed feed" in (runs[1].error or "")
    urls = list(session.scalars(select(Document.canonical_url)))
    assert len(urls) == len(set(urls)) == 6
    undated = session.scalars(select(Document).where(Document.url.like("%trao-hoc-bong%"))).one()
    assert undated.meta["published_at_from"] == "fetched_at"
    assert undated.published_at == undated.fetched_at
    future = session.scalars(select(Document).where(Document.url.like("%lich-thi%"))).one()
    assert future.published_at is not None and future.published_at <= utcnow()


def test_two_workers_crawling_one_source_at_once_store_each_article_once(
    settings: Settings, session: Session, demo_site: DemoSite
) -> None:
    # given: two workers, each with its own session, released at the same moment
    source_id = register_demo_source(session, demo_site.feed_url).id
    start = threading.Barrier(2)
    runs: list[CrawlRun] = []

    def worker() -> None:
        with session_scope() as own:
            start.wait()
            runs.append(crawl(own, source_id, settings=settings))

    # when
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # then
    n = len(demo_site.articles)
    assert [r.status for r in runs] == ["ok", "ok"]
    assert sum(r.items_new for r in runs) == n
    urls = list(session.scalars(select(Document.canonical_url)))
    assert len(urls) == len(set(urls)) == n
