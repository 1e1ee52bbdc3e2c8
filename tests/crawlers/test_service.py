"""Crawling sources end to end: the demo site into the database, failures recorded on the
source, scheduling with backoff, and the Celery task entry points."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import CrawlRun, Document, Source, utcnow
from core.settings import Settings
from crawlers.demo import DEMO_SOURCE_NAME, DemoArticle, DemoSite, register_demo_source
from crawlers.service import claim_due_sources, crawl
from crawlers.sources import DEFAULT_SOURCES, add_source, ensure_default_sources
from crawlers.tasks import crawl_source, schedule_sources


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
    for _ in range(settings.source_failure_threshold):
        crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert source.consecutive_failures == settings.source_failure_threshold
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
    strict = settings.model_copy(update={"allow_private_urls": False})
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


def test_ensure_default_sources_is_idempotent(session: Session, settings: Settings) -> None:
    # when
    first = ensure_default_sources(session, settings=settings)
    second = ensure_default_sources(session, settings=settings)
    # then
    assert len(first) == len(DEFAULT_SOURCES) and second == []
    names = set(session.scalars(select(Source.name)))
    assert {s.name for s in DEFAULT_SOURCES} <= names
    assert all(s.url.startswith("https://") for s in DEFAULT_SOURCES)
    assert {s.scope for s in DEFAULT_SOURCES} == {"national", "local"}


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
