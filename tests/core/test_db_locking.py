"""SQLite's write lock (issue 15): reads never take it, writers take it late, wait for it
with a bounded, logged backoff, and every write transaction's hold time is measured."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import db
from core.models import Source
from core.settings import Settings
from tests.conftest import TEST_DATABASE
from tests.factories import make_source

pytestmark = pytest.mark.skipif(
    TEST_DATABASE != "sqlite", reason="SQLite's one write lock; PostgreSQL locks rows"
)


def _path(settings: Settings) -> str:
    return settings.db_url.removeprefix("sqlite:///")


@contextmanager
def _held_write_lock(settings: Settings, release_after: float | None = None) -> Iterator[None]:
    """Another process's writer (a plain sqlite3 connection) holding the write lock."""
    conn = sqlite3.connect(_path(settings), isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    timer = None
    if release_after is not None:
        timer = threading.Timer(release_after, conn.rollback)
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        conn.rollback()
        conn.close()


@pytest.fixture
def sources(session: Session) -> None:
    make_source(session, "Báo Một")
    make_source(session, "Báo Hai")
    session.commit()


def test_a_read_in_a_default_session_does_not_wait_for_a_writer(
    settings: Settings, sources: None
) -> None:
    # given another writer holding the lock (the relabelling task)
    with _held_write_lock(settings), db.lock_deadline(1.0):
        # when the CLI lists sources in an ordinary (not read_only) session
        started = time.monotonic()
        with db.session_scope() as s:
            names = s.scalars(select(Source.name).order_by(Source.name)).all()
        # then it answers at once: BEGIN IMMEDIATE used to wait the 30 s busy timeout
        assert names == ["Báo Hai", "Báo Một"]
        assert time.monotonic() - started < 0.5


def test_read_then_write_after_another_writer_committed_does_not_fail(
    settings: Settings, sources: None
) -> None:
    # given a session that read (its snapshot) before another writer committed
    s = db.new_session()
    source = s.scalars(select(Source).where(Source.name == "Báo Một")).one()
    other = sqlite3.connect(_path(settings), isolation_level=None)
    other.execute("UPDATE sources SET enabled = 0 WHERE name = 'Báo Hai'")
    other.close()
    # when it writes: a deferred upgrade would fail at once with SQLITE_BUSY_SNAPSHOT
    source.enabled = False
    s.commit()
    s.close()
    # then both writes are there
    with db.session_scope() as check:
        assert check.scalars(select(Source.enabled)).all() == [False, False]


def test_a_writer_meeting_a_held_lock_backs_off_logged_and_then_writes(
    settings: Settings, sources: None, caplog: pytest.LogCaptureFixture
) -> None:
    db.reset_write_stats()
    # given a writer that keeps the lock past SQLite's own busy timeout
    held = _held_write_lock(settings, release_after=db.db_lock.BUSY_TIMEOUT_S + 0.5)
    # when another write comes
    with held, caplog.at_level(logging.WARNING, logger="core.db_lock"), db.session_scope() as s:
        s.execute(update(Source).values(enabled=False))
    # then it waited in logged retries instead of failing
    assert db.write_stats().lock_retries >= 1
    assert db.write_stats().busy_failures == 0
    assert any("database busy" in r.getMessage() for r in caplog.records)
    with db.session_scope() as check:
        assert check.scalars(select(Source.enabled)).all() == [False, False]


def test_a_writer_gives_up_at_its_deadline_with_database_busy(
    settings: Settings, sources: None
) -> None:
    db.reset_write_stats()
    # given a lock that is never released within the request's deadline
    with _held_write_lock(settings), db.lock_deadline(3.0):
        started = time.monotonic()
        with pytest.raises(db.DatabaseBusy) as err, db.session_scope() as s:
            s.execute(update(Source).values(enabled=False))
    # then it gave up on time, with an error callers recognise as a lock error
    assert time.monotonic() - started < 4.5
    assert db.is_lock_error(err.value)
    assert db.write_stats().busy_failures == 1


def test_longest_write_transaction_is_recorded_and_a_long_one_logged(
    settings: Settings, sources: None, caplog: pytest.LogCaptureFixture
) -> None:
    db.reset_write_stats()
    # given a read-only stretch of 0.4 s (no lock held) and a write holding the lock 0.3 s
    with db.session_scope() as s:
        s.scalars(select(Source)).all()
        time.sleep(0.4)
    with caplog.at_level(logging.WARNING, logger="core.db_lock"), db.session_scope() as s:
        s.execute(update(Source).values(enabled=False))
        time.sleep(0.3)
    # then only the write counts, its holder is named, and a reset starts afresh
    stats = db.write_stats()
    assert stats.transactions == 1
    assert 0.3 <= stats.longest_s < 0.4
    assert "test_db_locking.py" in stats.longest_where
    assert any("held the database lock" in r.getMessage() for r in caplog.records)
    db.reset_write_stats()
    assert db.longest_write() == 0.0


def test_lock_for_write_takes_the_lock_before_the_reads(settings: Settings, sources: None) -> None:
    # given a session that must read and write atomically (alert evaluation of a story)
    s = db.new_session()
    db.lock_for_write(s)
    # then no other writer can get in between its reads and its writes
    other = sqlite3.connect(_path(settings), isolation_level=None, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    s.rollback()
    other.execute("BEGIN IMMEDIATE")
    other.rollback()
    other.close()
    s.close()


def test_select_for_update_takes_the_write_lock(settings: Settings, sources: None) -> None:
    s = db.new_session()
    s.scalars(select(Source).where(Source.name == "Báo Một").with_for_update()).one()
    other = sqlite3.connect(_path(settings), isolation_level=None, timeout=0)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.close()
    s.close()


def test_retry_on_lock_runs_a_stale_snapshot_transaction_again_whole(
    settings: Settings, sources: None
) -> None:
    # given a transaction on a read_only connection that reads, then writes (real
    # SQLITE_BUSY_SNAPSHOT when another writer committed in between)
    attempts = []

    def rename() -> None:
        attempts.append(1)
        with db.new_session(read_only=True) as s:
            s.scalars(select(Source)).all()
            if len(attempts) == 1:
                other = sqlite3.connect(_path(settings), isolation_level=None)
                other.execute("UPDATE sources SET scope = 'local' WHERE name = 'Báo Hai'")
                other.close()
            s.execute(update(Source).where(Source.name == "Báo Một").values(scope="local"))
            s.commit()

    # when it runs under retry_on_lock
    db.retry_on_lock(rename, deadline_s=5, what="rename")
    # then it ran twice and its write landed once
    assert len(attempts) == 2
    with db.session_scope() as check:
        assert check.scalars(select(Source.scope)).all() == ["local", "local"]


def test_run_in_transaction_commits_and_returns(settings: Settings, sources: None) -> None:
    def disable(s: Session) -> int:
        return s.execute(update(Source).values(enabled=False)).rowcount

    assert db.run_in_transaction(disable) == 2
    with db.session_scope() as check:
        assert check.scalars(select(Source.enabled)).all() == [False, False]
