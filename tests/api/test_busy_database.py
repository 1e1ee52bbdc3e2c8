"""A web request that meets a busy database (another connection holds SQLite's write lock past
the busy timeout) answers 503 + Retry-After with a Vietnamese message, never a 500, and what
the client was told failed is not stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from api.busy import BUSY_MESSAGE, is_database_busy
from core import db
from core.models import Document, User
from core.settings import Settings
from tests.factories import PASSWORD

pytestmark = pytest.mark.skipif(
    __import__("tests.conftest", fromlist=["x"]).TEST_DATABASE != "sqlite",
    reason="holds SQLite's file lock; PostgreSQL has row locks instead",
)


def short_busy_timeout(settings: Settings, ms: int = 300) -> None:
    """Make the app's connections give up on a held lock after `ms` (instead of 30 s), so the
    test does not wait out the production timeout; the pool is emptied so all reconnect."""
    for engine in {db.get_engine(), db.get_engine(settings.db_url)}:

        @event.listens_for(engine, "connect")
        def _short(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA busy_timeout={ms}")

        engine.dispose()


@contextmanager
def write_lock_held(settings: Settings) -> Iterator[None]:
    """Another process's view: a connection that took the write lock and keeps it."""
    holder = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


TIP = {"text": "Phụ huynh báo trường thu sai quy định", "submitted_by": "Zalo", "channel": "zalo"}


def test_locked_database_gives_json_503_with_retry_after_not_500(
    app_client: TestClient, signed_in: Callable[..., User], settings: Settings, session: Session
) -> None:
    # given a signed-in press officer and a database whose write lock another process holds
    signed_in("press_officer")
    short_busy_timeout(settings)
    # when a tip is submitted
    with write_lock_held(settings):
        r = app_client.post("/api/v1/tips", json=TIP)
    # then the API says "busy, retry later", and nothing was stored
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": BUSY_MESSAGE}
    assert int(r.headers["retry-after"]) > 0
    with db.new_session(read_only=True) as check:
        assert check.scalar(select(func.count()).select_from(Document)) == 0
    # and once the lock is released the same request succeeds
    assert app_client.post("/api/v1/tips", json=TIP).status_code == 201


def test_locked_database_gives_vietnamese_page_503_to_a_browser(
    app_client: TestClient, signed_in: Callable[..., User], settings: Settings
) -> None:
    # given a user who signs in through the form while the write lock is held
    user = signed_in("press_officer")
    app_client.cookies.clear()
    short_busy_timeout(settings)
    with write_lock_held(settings):
        r = app_client.post(
            "/dang-nhap",
            data={"username": user.username, "password": PASSWORD},
            headers={"Accept": "text/html"},
            follow_redirects=False,
        )
    # then a page, not a traceback or a 500
    assert r.status_code == 503, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert BUSY_MESSAGE in r.text
    assert "retry-after" in r.headers


def test_busy_errors_are_told_apart_from_bugs() -> None:
    # a lock is worth retrying; a missing table is a bug and stays a 500
    from sqlalchemy.exc import OperationalError

    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    missing = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert is_database_busy(locked)
    assert not is_database_busy(missing)
