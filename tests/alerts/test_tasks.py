"""The Celery tasks by name, as the detection side and the beat call them (eager mode)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from core.celery_app import app, configure
from core.models import utcnow
from core.settings import Settings, get_settings
from tests.alerts.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer, make_alert, subscribe
from tests.conftest import reset_caches


@pytest.fixture
def eager(
    settings: Settings, smtp_server: SmtpServer, tls_files: tuple[Path, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:  # fmt: skip
    """Settings from the environment, as a worker reads them, with tasks run in-process."""
    env = {
        "DIEMTIN_SMTP_HOST": "127.0.0.1", "DIEMTIN_SMTP_PORT": str(smtp_server.port),
        "DIEMTIN_SMTP_SECURITY": "starttls", "DIEMTIN_SMTP_USERNAME": SMTP_USER,
        "DIEMTIN_SMTP_PASSWORD": SMTP_PASSWORD, "DIEMTIN_SMTP_CA_FILE": str(tls_files[0]),
        "DIEMTIN_CELERY_EAGER": "true",
    }  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    configure(get_settings())
    # What a worker does at start: import the task modules of TASK_MODULES.
    app.loader.import_default_modules()
    try:
        yield get_settings()
    finally:
        app.conf.task_always_eager = False


def test_tasks_by_name(session: Session, eager: Settings, smtp_server: SmtpServer) -> None:
    # given a critical alert committed by the detection side, and two subscribers
    alert = make_alert(session, "Sập mái phòng học", severity="critical")
    subscribe(session, "van.phong@so-gddt.vn")
    subscribe(session, "giam.doc@so-gddt.vn", kind="digest", send_at="00:00",
              created_at=utcnow() - timedelta(days=1))  # fmt: skip
    session.close()
    # when the tasks run by name
    assert app.tasks["notify_alert"].apply(args=[alert.id]).get()["immediate"] == 1
    assert app.tasks["notify_alert"].apply(args=[alert.id]).get()["duplicate"] == 1
    assert app.tasks["send_due_digests"].apply().get() == 1
    assert app.tasks["send_bundles"].apply().get() == 0
    assert app.tasks["dispatch_notifications"].apply().get() == {}
    # then each message went out once, right away (notify_alert asked for a dispatch)
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects[0] == "[Khẩn] Tình huống nóng: Sập mái phòng học"
    assert subjects[1].startswith("Điểm tin báo chí ngày") and len(subjects) == 2


def test_routes_and_beat(settings: Settings) -> None:
    routes = app.conf.task_routes
    for name in ("notify_alert", "dispatch_notifications", "send_bundles", "send_due_digests"):
        assert routes[name] == {"queue": "alerts"}
    beat = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"dispatch_notifications", "send_bundles", "send_due_digests"} <= beat


def test_sweep_makes_up_a_lost_notify_request_once(
    session: Session, eager: Settings, smtp_server: SmtpServer
) -> None:
    # given an alert committed whose notify_alert request never reached the broker
    make_alert(session, "Phụ huynh phản ánh thu tiền sai quy định", severity="high")
    subscribe(session, "van.phong@so-gddt.vn")
    session.close()
    # when the beat's sweep runs, twice
    assert app.tasks["sweep_alert_notifications"].apply().get() == 1
    assert app.tasks["sweep_alert_notifications"].apply().get() == 0
    # then the office got the alert once
    assert [m["Subject"] for m in smtp_server.messages] == [
        "[Quan trọng] Tình huống nóng: Phụ huynh phản ánh thu tiền sai quy định"
    ]
