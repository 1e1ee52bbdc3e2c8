"""Alert detection on a real PostgreSQL (the scaled deployment): migration 0004a's partial
unique index, and the replay, on a throw-away cluster started for this module."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import db
from core.celery_app import configure
from core.models import Alert, Story
from core.settings import Settings, get_settings
from tests.alerts import test_replay
from tests.conftest import reset_caches

INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
BIN = os.path.dirname(INITDB[-1])
needs_postgres = pytest.mark.skipif(
    not INITDB[-1] or importlib.util.find_spec("psycopg") is None,
    reason="PostgreSQL server (apt-get install postgresql) or psycopg not installed",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    # The server refuses to run as root; CI containers often are root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 for this module; yields its base URL."""
    root = tempfile.mkdtemp(prefix="diemtin-pg-", dir="/tmp")
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data, port = os.path.join(root, "data"), _free_port()
    subprocess.run(
        _as_postgres([f"{BIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres"]),
        check=True, capture_output=True,
    )  # fmt: skip
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres([f"{BIN}/pg_ctl", "-D", data, "-o", opts, "-l", f"{root}/log", "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([f"{BIN}/pg_ctl", "-D", data, "-m", "fast", "stop"]),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_session(
    postgres: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """A migrated session on a fresh PostgreSQL database, eager Celery, province Đà Nẵng."""
    import psycopg

    name = f"alerts_{uuid.uuid4().hex[:12]}"
    plain = postgres.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("DIEMTIN_DATABASE_URL", f"{postgres}/{name}")
    monkeypatch.setenv("DIEMTIN_PROVINCE", "Đà Nẵng")
    monkeypatch.setenv("DIEMTIN_CELERY_EAGER", "true")
    reset_caches()
    configure(get_settings())
    db.migrate()
    s = db.new_session()
    try:
        yield s
    finally:
        s.close()
        db.get_engine().dispose()


@needs_postgres
def test_one_hot_alert_per_story_is_enforced_by_the_database(pg_session: Session) -> None:
    story = Story(title="Câu chuyện")
    pg_session.add(story)
    pg_session.flush()
    # one hot and one misinfo case per story; rule cases are per rule, so several are fine
    kinds = ["hot", "misinfo", "rule", "rule"]
    pg_session.add_all([Alert(kind=kind, story_id=story.id) for kind in kinds])
    pg_session.commit()
    pg_session.add(Alert(kind="hot", story_id=story.id))
    with pytest.raises(IntegrityError):
        pg_session.commit()
    pg_session.rollback()
    assert len(pg_session.scalars(select(Alert)).all()) == 4


@needs_postgres
def test_replay_on_postgres(pg_session: Session, notified: list[int]) -> None:
    # The same timeline and assertions as on SQLite.
    test_replay.test_story_spreading_is_one_alert_escalating(pg_session, notified)
