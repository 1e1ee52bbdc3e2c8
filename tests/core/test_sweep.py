"""Work a lost task left undone is found and queued again (the sweep); a task that meets a busy
database is retried, not dropped; crawl runs a killed worker left "running" are closed; the
beat's routine ticks log at DEBUG."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core import db, db_lock
from core.celery_app import RoutineTicksToDebug, app, configure
from core.models import CrawlRun, Document, utcnow
from core.settings import Settings, get_settings
from crawlers.sweep import close_runs_at_start, sweep
from tests.api.test_busy_database import lock_holder
from tests.conftest import TEST_DATABASE, reset_caches
from tests.factories import make_document, make_source


@pytest.fixture
def eager(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Tasks run in-process, as a worker would run them."""
    monkeypatch.setenv("DIEMTIN_CELERY_EAGER", "true")
    reset_caches()
    configure(get_settings())
    app.loader.import_default_modules()
    try:
        yield get_settings()
    finally:
        app.conf.task_always_eager = False


def stored_long_ago(session: Session, title: str) -> Document:
    """A document stored ten minutes ago whose evaluation task never ran."""
    doc = make_document(session, make_source(session, name=title), title, "nội dung")
    doc.fetched_at = utcnow() - timedelta(minutes=10)
    session.commit()
    return doc


def test_document_never_evaluated_is_queued_again_by_the_sweep(
    eager: Settings, session: Session
) -> None:
    # given a document stored ten minutes ago whose evaluate_documents task was lost,
    # and one stored just now (its task may still be on its way)
    lost = stored_long_ago(session, "Học sinh bị đánh hội đồng")
    fresh = make_document(session, make_source(session), "Tin mới", "nội dung")
    session.commit()
    # when the sweep runs
    found = sweep(eager)
    # then the lost one was evaluated (evaluated_at set), the fresh one left to its own task
    assert found["evaluate"] == 1
    session.expire_all()
    assert session.get(Document, lost.id).evaluated_at is not None
    assert session.get(Document, fresh.id).evaluated_at is None
    session.rollback()
    # and the next sweep finds nothing to redo
    assert sweep(eager)["evaluate"] == 0


def test_crawl_run_left_running_by_a_killed_worker_is_closed_as_interrupted(
    settings: Settings, session: Session
) -> None:
    # given a run started two hours ago that no worker will finish, and a live one
    source = make_source(session)
    dead = CrawlRun(source_id=source.id, started_at=utcnow() - timedelta(hours=2))
    live = CrawlRun(source_id=source.id, started_at=utcnow())
    session.add_all([dead, live])
    session.commit()
    # when the sweep runs
    assert sweep(settings)["interrupted"] == 1
    # then the dead one is interrupted with a reason; the live one still runs
    session.expire_all()
    assert (session.get(CrawlRun, dead.id).status, session.get(CrawlRun, live.id).status) == (
        "interrupted",
        "running",
    )
    assert session.get(CrawlRun, dead.id).finished_at is not None
    session.rollback()
    # and a worker starting on the embedded broker (one worker per machine) closes the rest
    close_runs_at_start()
    session.expire_all()
    assert session.get(CrawlRun, live.id).status == "interrupted"


@pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="holds SQLite's file lock")
def test_evaluation_meeting_a_locked_database_is_retried_not_dropped(
    eager: Settings, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stored document, and another process holding the write lock for 5 s
    doc = stored_long_ago(session, "Phụ huynh phản ánh lạm thu")
    session.close()
    # each try gives up after about one busy timeout (2 s) instead of the 30 s default
    monkeypatch.setattr(db_lock, "WRITE_DEADLINE_S", 1.0)
    # Eager retries run in place, as a worker's would through the broker (propagating, eager
    # mode would raise the Retry itself instead).
    app.conf.task_eager_propagates = False
    holder = lock_holder(eager)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(5.0, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        # when alert evaluation runs (as the worker would)
        result = app.tasks["evaluate_documents"].apply(args=[[doc.id]])
    finally:
        app.conf.task_eager_propagates = True
        release.join()
        holder.close()
    # then it was retried (a try gave up) and finished: the document is evaluated
    assert result.successful(), result.traceback
    assert db.write_stats().busy_failures >= 1
    with db.new_session(read_only=True) as check:
        assert check.scalar(select(Document.evaluated_at).where(Document.id == doc.id))


def test_a_bug_is_not_retried_as_if_the_database_were_busy(eager: Settings) -> None:
    # a missing table is an OperationalError too, but retrying cannot fix it
    calls: list[int] = []

    @app.task(name="tests_sweep_bug", bind=True)
    def bug(self: Any) -> None:
        calls.append(self.request.retries)
        with db.session_scope() as s:
            s.execute(select(1).select_from(__import__("sqlalchemy").table("no_such_table")))

    with pytest.raises(OperationalError, match="no such table"):
        bug.apply()
    assert calls == [0]


def test_routine_ticks_log_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    # given beat's and the worker's loggers at INFO, as `diemtin run` starts them
    beat = logging.getLogger("celery.beat")
    trace = logging.getLogger("celery.app.trace")
    from celery.app.trace import LOG_SUCCESS

    with caplog.at_level(logging.INFO):
        # when a routine tick is sent and succeeds, and a crawl succeeds
        beat.info("Scheduler: Sending due task %s (%s)", "index-documents", "index_documents")
        trace.info(LOG_SUCCESS, {"id": "1", "name": "index_documents", "return_value": 0,
                                 "runtime": 0.01})  # fmt: skip
        trace.info(LOG_SUCCESS, {"id": "2", "name": "crawl_source", "return_value": "ok",
                                 "runtime": 1.0})  # fmt: skip
    # then only the crawl is at INFO
    assert [r.getMessage().split("[")[0] for r in caplog.records] == ["Task crawl_source"]
    assert any(isinstance(f, RoutineTicksToDebug) for f in beat.filters)
