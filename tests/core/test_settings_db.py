"""Settings, the database layer and migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from core import db
from core.models import Source, utcnow
from core.settings import DEV_SECRET_KEY, Settings


def test_default_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIEMTIN_SECRET_KEY", raising=False)
    assert Settings(environment="development").secret_key == DEV_SECRET_KEY
    for env in ("production", "test"):
        with pytest.raises(ValidationError, match="DIEMTIN_SECRET_KEY"):
            Settings(environment=env)
    assert Settings(environment="production", secret_key="s3cr3t-value").environment == "production"


def test_defaults_run_on_one_machine(settings: Settings) -> None:
    # db.url given explicitly: `make test-postgres` sets it in the environment
    defaults = Settings(db={"url": ""})
    assert defaults.db_url.startswith("sqlite:///") and defaults.db_url.endswith("diemtin.sqlite3")
    assert defaults.search_sqlite_url == defaults.db_url
    # celery.broker_url given explicitly too: DIEMTIN_TEST_BROKER=redis sets it in the environment
    assert Settings(celery={"broker_url": ""}).celery_broker_url.startswith("sqla+sqlite:///")
    assert settings.search.backend == "sqlite"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DIEMTIN_PORT", "9123")
    assert Settings().web.port == 9123


def test_migrate_is_idempotent(settings: Settings) -> None:
    db.migrate()
    db.migrate()
    tables = set(inspect(db.get_engine()).get_table_names())
    assert {"sources", "documents", "stories", "alerts", "alert_events", "rules", "users"} <= tables
    assert {"units", "subscriptions", "classifications", "alembic_version"} <= tables


def test_sqlite_runs_in_wal_mode(session: Session, settings: Settings) -> None:
    # The FTS5 file is SQLite whichever database holds the rest (`make test-postgres`).
    with db.get_engine(settings.search_sqlite_url).connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"


def test_times_are_stored_utc_and_naive_times_refused(session: Session) -> None:
    # given a time in Hanoi
    from zoneinfo import ZoneInfo

    hanoi = datetime(2026, 11, 20, 7, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    session.add(Source(name="A", url="https://a.vn/rss", last_success_at=hanoi))
    session.commit()
    session.expire_all()
    # then it comes back as the same instant, in UTC
    stored = session.scalar(select(Source.last_success_at))
    assert stored == hanoi and stored.tzinfo == UTC and stored.hour == 0
    session.add(Source(name="B", url="https://b.vn/rss", last_success_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive"):
        session.commit()
    session.rollback()
    assert utcnow().tzinfo == UTC
