"""Celery workers on the Redis broker killed with SIGKILL mid-task (crawl, classify, alerts),
and two workers crawling the same source at once: every task is redone, exactly once in
effect. Real redis-server, real `celery worker` processes, a local HTTP feed."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.celery_app import app
from core.models import Alert, AlertEvent, Classification, CrawlRun, Document, Rule, Source
from core.settings import Settings
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer, Reply
from tests.scale.conftest import RSS_HEADERS, rss_feed
from tests.scale.services import RedisServer, app_env, wait_for, worker

pytestmark = [pytest.mark.slow, pytest.mark.serial]

STALL_S = 15.0


def _source(session: Session, url: str, name: str = "Báo mẫu") -> Source:
    source = Source(name=name, url=url, kind="rss", poll_interval_s=900)
    session.add(source)
    session.commit()
    return source


def _scalar(session: Session, stmt: Any) -> Any:
    value = session.scalar(stmt)
    # Polling must not sit in a transaction (SQLite writers take the lock at BEGIN).
    session.rollback()
    return value


def _docs_per_url(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Document.canonical_url, func.count()).group_by(Document.canonical_url)
    ).all()
    session.rollback()
    return {str(url): int(n) for url, n in rows}


def _in_flight(redis_server: RedisServer) -> int:
    """Messages delivered to a worker and not yet acknowledged (kombu's `unacked` hash)."""
    return int(redis_server.client().hlen("unacked"))


def _drained(redis_server: RedisServer, *queues: str) -> bool:
    client = redis_server.client()
    return _in_flight(redis_server) == 0 and all(client.llen(q) == 0 for q in queues)


@contextmanager
def _write_lock(settings: Settings) -> Iterator[None]:
    """Hold the database's write lock, so a task that writes blocks mid-way (reads go on)."""
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database
    ) as conn:
        conn.execute(
            "LOCK TABLE documents, classifications, alerts, alert_events "
            "IN SHARE ROW EXCLUSIVE MODE"
        )
        yield
        conn.rollback()


def _kill_mid_task(
    redis_settings: Settings, redis_server: RedisServer, log: Path, task: str, args: list[Any]
) -> None:
    """Send `task`, SIGKILL the worker while it runs (blocked on the database write lock)."""
    env = app_env(redis_settings, redis_server.url)
    with _write_lock(redis_settings), worker(env, log, "doomed") as doomed:
        app.send_task(task, args=args)
        wait_for(lambda: _in_flight(redis_server) == 1, 40, f"{task} to start", log)
        # Long enough for the task to read and reach its first write.
        time.sleep(1.0)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    assert _in_flight(redis_server) == 1  # still owed: acks_late


def test_killed_crawl_is_redone_and_every_item_stored_once(
    session: Session,
    redis_settings: Settings,
    redis_server: RedisServer,
    server: LocalServer,
    tmp_path: Path,
) -> None:
    # given: a feed that stalls on the first request, so the crawl is mid-flight
    stalled = threading.Event()

    def feed(_handler: Any) -> Reply:
        if not stalled.is_set():
            stalled.set()
            return Reply(body=rss_feed(8, "k"), headers=RSS_HEADERS, delay_s=STALL_S)
        return Reply(body=rss_feed(8, "k"), headers=RSS_HEADERS)

    source = _source(session, server.route("/slow.xml", feed))
    env = app_env(redis_settings, redis_server.url)
    log = tmp_path / "worker.log"
    with worker(env, log, "first") as first:
        app.send_task("crawl_source", args=[source.id])
        wait_for(stalled.is_set, 40, "the first worker to fetch", log)
        # when: the worker dies mid-crawl
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    with worker(env, log, "second"):
        wait_for(lambda: len(_docs_per_url(session)) == 8, 40, "the redone crawl", log)
        wait_for(lambda: _drained(redis_server, "crawl"), 20, "the crawl to be acked", log)
    # then: redone once, and every item stored exactly once
    assert set(_docs_per_url(session).values()) == {1}
    runs = session.scalars(select(CrawlRun.status).where(CrawlRun.source_id == source.id))
    assert sorted(runs) == ["ok", "running"]
    assert len(server.requests) == 2


def test_killed_classification_is_redone_once(
    session: Session,
    redis_settings: Settings,
    redis_server: RedisServer,
    server: LocalServer,
    tmp_path: Path,
) -> None:
    # given: a stored document without labels (its inline classification failed)
    source = _source(
        session, server.route("/feed.xml", Reply(body=rss_feed(2, "c"), headers=RSS_HEADERS))
    )
    crawl(session, source.id)
    doc_id = _scalar(session, select(Document.id).order_by(Document.id).limit(1))
    session.execute(delete(Classification).where(Classification.document_id == doc_id))
    session.commit()
    redis_server.client().flushall()  # the crawl's own follow-up tasks are not under test
    log = tmp_path / "worker.log"
    # when: the worker classifying it is killed mid-task, and a new one starts
    _kill_mid_task(redis_settings, redis_server, log, "classify_document", [doc_id])
    env = app_env(redis_settings, redis_server.url)
    count = select(func.count()).where(Classification.document_id == doc_id)
    with worker(env, log, "second"):
        wait_for(lambda: _scalar(session, count) == 1, 40, "the redone classification", log)
        wait_for(lambda: _drained(redis_server, "classify"), 20, "the ack", log)
        # and the same task delivered twice more (a redelivery after commit) adds nothing
        app.send_task("classify_document", args=[doc_id])
        app.send_task("classify_document", args=[doc_id])
        wait_for(lambda: _drained(redis_server, "classify"), 30, "the repeats", log)
        # and the new labels are indexed (the task queued the indexer)
        indexed = select(Document.indexed_at).where(Document.id == doc_id)
        wait_for(lambda: _scalar(session, indexed) is not None, 30, "re-indexing", log)
    # then
    assert _scalar(session, count) == 1


def test_killed_alert_evaluation_is_redone_once(
    session: Session,
    redis_settings: Settings,
    redis_server: RedisServer,
    server: LocalServer,
    tmp_path: Path,
) -> None:
    # given: stored documents and a rule that one of them matches (without diacritics)
    source = _source(
        session, server.route("/feed.xml", Reply(body=rss_feed(5, "a"), headers=RSS_HEADERS))
    )
    crawl(session, source.id)
    redis_server.client().flushall()
    session.add(Rule(name="Bạo lực học đường", query='"bao luc hoc duong"', severity="high"))
    session.commit()
    doc_id = _scalar(session, select(Document.id).where(Document.title.contains("bạo lực")))
    assert doc_id is not None
    log = tmp_path / "worker.log"
    # when: the worker evaluating it is killed mid-task, and a new one starts
    _kill_mid_task(redis_settings, redis_server, log, "evaluate_document", [doc_id])
    env = app_env(redis_settings, redis_server.url)
    with worker(env, log, "second"):
        rule_alerts = select(func.count(Alert.id)).where(Alert.kind == "rule")
        wait_for(lambda: _scalar(session, rule_alerts) == 1, 40, "alert", log)
        wait_for(lambda: _drained(redis_server, "alerts"), 20, "the ack", log)
        app.send_task("evaluate_document", args=[doc_id])
        wait_for(lambda: _drained(redis_server, "alerts"), 30, "the repeat", log)
    # then: one rule alert naming the document once, one "document_added" event (the story
    # may have its own "hot" case besides)
    alert = session.scalars(select(Alert).where(Alert.kind == "rule")).one()
    assert alert.details["documents"] == [doc_id]
    events = select(func.count()).where(
        AlertEvent.alert_id == alert.id, AlertEvent.kind == "document_added"
    )
    assert _scalar(session, events) == 1


def test_two_workers_crawling_one_source_at_once_store_each_item_once(
    session: Session,
    redis_settings: Settings,
    redis_server: RedisServer,
    server: LocalServer,
    tmp_path: Path,
) -> None:
    # given: two workers, and a feed slow enough that both fetch it at the same time
    fetched_at: list[float] = []

    def slow(_handler: Any) -> Reply:
        fetched_at.append(time.monotonic())
        return Reply(body=rss_feed(10, "d"), headers=RSS_HEADERS, delay_s=2.0)

    source = _source(session, server.route("/both.xml", slow))
    env = app_env(redis_settings, redis_server.url)
    log = tmp_path / "worker.log"
    with worker(env, log, "one", "crawl", 1), worker(env, log, "two", "crawl", 1):
        # both up before anything is queued, or the first would take both in turn
        ready = lambda: len(app.control.ping(timeout=0.5)) == 2  # noqa: E731
        wait_for(ready, 60, "both workers", log)
        # when: the same source is queued twice (two scheduler ticks racing, say)
        app.send_task("crawl_source", args=[source.id])
        app.send_task("crawl_source", args=[source.id])
        runs = select(func.count()).where(CrawlRun.source_id == source.id, CrawlRun.status == "ok")
        wait_for(lambda: _scalar(session, runs) == 2, 60, "both crawls", log)
    # then: both fetched at once (the second before the first's reply came), and each
    # item is one document
    assert len(fetched_at) == 2 and fetched_at[1] - fetched_at[0] < 2.0
    per_url = _docs_per_url(session)
    assert len(per_url) == 10 and set(per_url.values()) == {1}


class _BrokenClassifier:
    """A model that fails to load: the fault under test, not a stand-in for our service."""

    model_version = "broken"

    def predict(self, texts: list[str]) -> list[Any]:
        raise RuntimeError("model weights missing")


def test_documents_the_classifier_failed_on_are_labelled_by_the_classify_queue(
    session: Session,
    redis_settings: Settings,
    redis_server: RedisServer,
    server: LocalServer,
    tmp_path: Path,
) -> None:
    # given: a crawl whose inline classification fails
    url = server.route("/cls.xml", Reply(body=rss_feed(4, "cls"), headers=RSS_HEADERS))
    source = _source(session, url)
    crawl(session, source.id, classifier=_BrokenClassifier())  # type: ignore[arg-type]
    labelled = select(func.count(func.distinct(Classification.document_id)))
    assert _scalar(session, labelled) == 0
    assert redis_server.client().llen("classify") == 4
    # when: a classify worker runs
    env = app_env(redis_settings, redis_server.url)
    log = tmp_path / "worker.log"
    with worker(env, log, "classify", "classify,index,alerts"):
        wait_for(lambda: _scalar(session, labelled) == 4, 40, "the classify queue", log)
        pending = select(func.count()).where(Document.indexed_at.is_(None))
        wait_for(lambda: _scalar(session, pending) == 0, 40, "re-indexing", log)
    # then: every document has exactly one classification
    assert _scalar(session, select(func.count(Classification.id))) == 4
