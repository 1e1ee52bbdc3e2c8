"""Outages of the services the scaled deployment leans on: the search backend down while
documents arrive, and redis-server killed and restarted under a running worker and beat.
Real processes throughout: noida-db, redis-server, `celery worker`, `celery beat`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.celery_app import app, configure, reset_pools
from core.models import CrawlRun, Document, Source
from core.search import SearchQuery, get_backend
from core.settings import Settings, get_settings
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer, Reply
from tests.scale.conftest import RSS_HEADERS, rss_feed
from tests.scale.services import NoidaServer, RedisServer, app_env, beat, wait_for, worker

pytestmark = pytest.mark.slow


def _count(session: Session, stmt: Any) -> int:
    value = int(session.scalar(stmt) or 0)
    session.rollback()  # never poll inside a transaction (SQLite writers lock at BEGIN)
    return value


def _use(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    reset_pools()
    current = get_settings()
    configure(current)
    return current


@dataclass
class Ticking:
    """A redis-server of the test's own, a source polled every second, and the env for a
    worker and a beat that tick every second."""

    redis: RedisServer
    env: dict[str, str]
    log: Path
    ok_runs: Any  # count of the source's successful crawls
    in_flight: threading.Event  # set when the slow request starts


@pytest.fixture
def ticking(
    session: Session,
    server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Callable[..., Ticking]]:
    """Makes the setup; its feed has one new article per request, and request number
    `slow_request` takes 3 s. Its redis-server is stopped after the test."""
    started: list[RedisServer] = []

    def make(name: str, tag: str, slow_request: int = 0) -> Ticking:
        redis = RedisServer(tmp_path / "redis").start()
        started.append(redis)
        in_flight = threading.Event()
        served = [0]
        lock = threading.Lock()

        def feed(_handler: Any) -> Reply:
            with lock:
                served[0] += 1
                n = served[0]
            if n == slow_request:
                in_flight.set()
                time.sleep(3)
            return Reply(body=rss_feed(n, tag), headers=RSS_HEADERS)

        source = Source(name=name, url=server.route(f"/{tag}.xml", feed), poll_interval_s=1)
        session.add(source)
        session.commit()
        current = _use(monkeypatch, DIEMTIN_BROKER_URL=redis.url)
        env = app_env(current, redis.url, DIEMTIN_SCHEDULER_TICK_S="1", DIEMTIN_INDEX_TICK_S="1")
        ok = select(func.count()).where(CrawlRun.source_id == source.id, CrawlRun.status == "ok")
        return Ticking(redis, env, tmp_path / "celery.log", ok, in_flight)

    yield make
    for redis in started:
        redis.stop()


def test_search_outage_loses_nothing_and_indexes_when_back(
    session: Session,
    settings: Settings,
    redis_server: RedisServer,
    server: LocalServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: Elasticsearch (noida-db) is down while a worker and the beat run on Redis
    redis_server.client().flushall()
    noida = NoidaServer(tmp_path / "noida")
    current = _use(
        monkeypatch,
        DIEMTIN_SEARCH_BACKEND="elasticsearch",
        DIEMTIN_ELASTICSEARCH_URL=noida.url,
        DIEMTIN_BROKER_URL=redis_server.url,
    )
    env = app_env(current, redis_server.url, DIEMTIN_INDEX_TICK_S="1")
    log = tmp_path / "worker.log"
    source = Source(name="Báo mẫu", url=server.route("/f.xml", Reply(body=rss_feed(6, "s"))))
    session.add(source)
    session.commit()
    pending = select(func.count()).where(Document.indexed_at.is_(None))
    try:
        with worker(env, log, "w", "index,default"), beat(env, log, tmp_path / "beat"):
            # when: documents arrive while the search backend is down
            crawl(session, source.id)
            assert _count(session, select(func.count(Document.id))) == 6
            failed = select(func.count()).where(Document.index_error.is_not(None))
            wait_for(lambda: _count(session, failed) == 6, 30, "a failed indexing attempt", log)
            assert _count(session, pending) == 6
            # and it comes back
            noida.start()
            # then: the beat's next index tick indexes every one of them
            wait_for(lambda: _count(session, pending) == 0, 40, "indexing after the outage", log)
            backend = get_backend(current)
            assert backend.search(SearchQuery(q="hoc phi", size=50)).total == 2  # items 0, 5
            # when: it goes away again after working, and more documents arrive meanwhile
            noida.stop()
            url = server.route("/g.xml", Reply(body=rss_feed(4, "t"), headers=RSS_HEADERS))
            second = Source(name="Báo hai", url=url)
            session.add(second)
            session.commit()
            crawl(session, second.id)
            wait_for(lambda: _count(session, failed) == 4, 30, "the second outage", log)
            noida.start()
            wait_for(lambda: _count(session, pending) == 0, 60, "indexing after it", log)
        # then: the new documents are searchable, and the earlier ones still are
        assert backend.search(SearchQuery(q="", sources=[second.id], size=50)).total == 4
        assert backend.search(SearchQuery(q="hoc phi", size=50)).total == 3
        assert _count(session, failed) == 0
    finally:
        noida.stop()


def test_redis_dies_while_a_task_runs_and_the_worker_carries_on(
    session: Session, ticking: Callable[..., Ticking], tmp_path: Path
) -> None:
    # given: a worker in the middle of a crawl (its message unacknowledged) on a redis-server
    # of this test's own, and the beat ticking every second
    t = ticking("Báo chậm", "f", slow_request=2)
    with worker(t.env, t.log, "w"), beat(t.env, t.log, tmp_path / "beat"):
        assert t.in_flight.wait(40), "the slow crawl never started"
        # when: Redis dies mid-task and comes back on the same port
        t.redis.kill()
        time.sleep(1)
        t.redis.start()
        # then: the worker neither crashes nor stops: crawls go on
        wait_for(lambda: _count(session, t.ok_runs) >= 4, 60, "crawls after restart", t.log)
        assert "Unrecoverable error" not in t.log.read_text(errors="replace")


def test_redis_restart_scheduled_crawls_resume_and_queued_tasks_survive(
    session: Session, ticking: Callable[..., Ticking], server: LocalServer, tmp_path: Path
) -> None:
    # given: a redis-server of this test's own, a worker and the beat ticking every second,
    # and a feed that has one new article per request
    t = ticking("Báo mẫu", "r")
    redis, env, log, ok_runs = t.redis, t.env, t.log, t.ok_runs
    with worker(env, log, "w"), beat(env, log, tmp_path / "beat"):
        wait_for(lambda: _count(session, ok_runs) >= 2, 40, "scheduled crawls", log)
        # when: Redis dies without warning and comes back on the same port
        redis.kill()
        time.sleep(3)
        before = _count(session, ok_runs)
        redis.start()
        # then: the beat ticks again and the worker crawls again, with no restart of either
        wait_for(lambda: _count(session, ok_runs) >= before + 3, 60, "crawls after restart", log)
    # and no article was stored twice
    per_url = session.execute(
        select(Document.canonical_url, func.count()).group_by(Document.canonical_url)
    ).all()
    assert len(per_url) >= before + 3 and {n for _, n in per_url} == {1}

    # given: a task queued while no worker runs, persisted by the append-only file
    session.add(
        second := Source(
            name="Báo hai",
            url=server.route("/2.xml", Reply(body=rss_feed(3, "q"), headers=RSS_HEADERS)),
            poll_interval_s=3600,
        )
    )  # noqa: E501
    session.commit()
    app.send_task("crawl_source", args=[second.id])
    time.sleep(1.5)  # appendfsync everysec
    # when: Redis is killed and restarted before any worker took it
    redis.kill()
    redis.start()
    # then: a worker started afterwards still finds and runs it
    done = select(func.count()).where(CrawlRun.source_id == second.id, CrawlRun.status == "ok")
    with worker(env, log, "late", "crawl"):
        wait_for(lambda: _count(session, done) == 1, 40, "the persisted crawl", log)
