"""Alert detection tasks, called by name: "evaluate_document(s)" (from the ingest pipeline)
and "detect_spikes" (from the beat). Each is idempotent: running one twice changes nothing."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from alerts.detection.evaluate import evaluate, evaluate_many, mark_evaluated
from alerts.detection.spikes import DEFAULT_CALENDAR, detect
from core.celery_app import (
    DETECT_SPIKES,
    EVALUATE_DOCUMENT,
    EVALUATE_DOCUMENTS,
    NOTIFY_ALERT,
    app,
    send_task_safely,
)
from core.db import session_scope
from core.models import utcnow
from core.settings import get_settings


def request_notifications(alert_ids: list[int]) -> None:
    """Queue notify_alert once per created or escalated alert (after the commit)."""
    # By name: the notifiers are alerts.notify's business, run by whichever worker has it.
    for alert_id in dict.fromkeys(alert_ids):
        send_task_safely(NOTIFY_ALERT, args=[alert_id])


@app.task(name=EVALUATE_DOCUMENT)
def evaluate_document(doc_id: str) -> int:
    """Evaluate alerts for one new or changed document; safe to run twice."""
    with session_scope() as session:
        out = evaluate(session, doc_id)
        mark_evaluated(session, [doc_id])
    request_notifications(out.notify)
    return len(out.touched)


@app.task(name=EVALUATE_DOCUMENTS)
def evaluate_documents(doc_ids: list[str]) -> int:
    """evaluate_document for a batch (one transaction, each story scored once)."""
    with session_scope() as session:
        out = evaluate_many(session, doc_ids)
        mark_evaluated(session, doc_ids)
    request_notifications(out.notify)
    return len(out.touched)


@app.task(name=DETECT_SPIKES)
def detect_spikes() -> int:
    """Flag topic, unit and rule volume spikes (the beat runs this; idempotent per day)."""
    settings = get_settings()
    with session_scope() as session:
        alerts = detect(
            session,
            utcnow(),
            tz=ZoneInfo(settings.timezone),
            calendar=settings.alerts.school_calendar or DEFAULT_CALENDAR,
        )
        session.commit()
        ids = [a.id for a in alerts]
    request_notifications(ids)
    return len(ids)
