"""A web request that meets a busy database (another connection holds SQLite's write lock past
the busy timeout) answers 503 + Retry-After with a Vietnamese message, never a 500, and what
the client was told failed is not stored."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.busy import BUSY_MESSAGE, is_database_busy
from api.cli_errors import EXIT_BUSY
from api.main import create_app
from core import db
from core.models import Document, User
from core.settings import Settings
from tests.factories import PASSWORD, login_as

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    __import__("tests.conftest", fromlist=["x"]).TEST_DATABASE != "sqlite",
    reason="holds SQLite's file lock; PostgreSQL has row locks instead",
)


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    """The app with a one-second lock deadline (production waits 10 s), so the test is quick."""
    quick = settings.copy_with(db={"web_lock_deadline_s": 1.0})
    with TestClient(create_app(quick), base_url="http://testserver") as c:
        yield c


def lock_holder(settings: Settings) -> sqlite3.Connection:
    """A connection of another process's kind, usable from a timer thread."""
    path = settings.db_url.removeprefix("sqlite:///")
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


@contextmanager
def write_lock_held(settings: Settings) -> Iterator[None]:
    """Another process's view: a connection that took the write lock and keeps it."""
    holder = sqlite3.connect(
        settings.db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


TIP = {"text": "Phụ huynh báo trường thu sai quy định", "submitted_by": "Zalo", "channel": "zalo"}


def test_locked_database_gives_json_503_with_retry_after_not_500(
    client: TestClient, settings: Settings
) -> None:
    # given a signed-in press officer and a database whose write lock another process holds
    login_as(client, "press_officer")
    # when a tip is submitted
    with write_lock_held(settings):
        r = client.post("/api/v1/tips", json=TIP)
    # then the API says "busy, retry later", and nothing was stored
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": BUSY_MESSAGE}
    assert int(r.headers["retry-after"]) > 0
    with db.new_session(read_only=True) as check:
        assert check.scalar(select(func.count()).select_from(Document)) == 0
    # and once the lock is released the same request succeeds
    assert client.post("/api/v1/tips", json=TIP).status_code == 201


def test_locked_database_gives_vietnamese_page_503_to_a_browser(
    client: TestClient, settings: Settings
) -> None:
    # given a user who signs in through the form while the write lock is held
    user = login_as(client, "press_officer")
    client.cookies.clear()
    with write_lock_held(settings):
        r = client.post(
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


def run_cli(settings: Settings, *args: str, wait_s: float = 2.0) -> subprocess.CompletedProcess:
    """`diemtin ARGS` as a user runs it, on the test's data directory."""
    env = {
        **os.environ,
        "DIEMTIN_DATA_DIR": str(settings.data_dir),
        "DIEMTIN_DATABASE_URL": settings.db.url,
        "DIEMTIN_CLI_BUSY_WAIT_S": str(wait_s),
        "DIEMTIN_NEW_PASSWORD": "mot-mat-khau-du-dai-123",
    }
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


def test_cli_write_on_a_locked_database_says_busy_in_one_sentence_not_a_traceback(
    settings: Settings, session: Session
) -> None:
    # given another process holding the write lock for longer than the CLI will wait
    with write_lock_held(settings):
        # when an admin adds a user
        done = run_cli(settings, "user", "add", "canbo1")
    # then one Vietnamese sentence, a non-zero exit, no traceback, and no user stored
    assert done.returncode == EXIT_BUSY, done.stderr
    assert BUSY_MESSAGE in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    with db.new_session(read_only=True) as check:
        assert check.scalar(select(func.count()).select_from(User)) == 0


def test_cli_read_is_not_blocked_by_a_writer(settings: Settings, session: Session) -> None:
    # given a writer holding the lock (WAL: readers see the last commit meanwhile)
    with write_lock_held(settings):
        started = time.monotonic()
        done = run_cli(settings, "source", "list", wait_s=30)
        took = time.monotonic() - started
    # then the listing answers without waiting for the writer
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert took < 20


def test_cli_write_retries_until_the_lock_is_released(settings: Settings, session: Session) -> None:
    # given a writer that lets go after two seconds
    holder = sqlite3.connect(
        settings.db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(2.0, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        # when a user is added with time to wait
        done = run_cli(settings, "user", "add", "canbo2", wait_s=30)
    finally:
        release.join()
        holder.close()
    # then the retry got through, once
    assert done.returncode == 0, done.stderr
    with db.new_session(read_only=True) as check:
        names = check.scalars(select(User.username)).all()
    assert names == ["canbo2"]
