"""Celery tasks of the notification side: notify_alert (queued by the detection side after
it commits an alert), dispatch_notifications, send_bundles and send_due_digests (beat)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.notify.digest import send_due_digests as queue_due_digests
from alerts.notify.outbox import dispatch_due
from alerts.notify.recipients import notify_alert as queue_alert
from alerts.notify.recipients import send_bundles as queue_bundles
from core.celery_app import (
    DISPATCH_NOTIFICATIONS,
    NOTIFY_ALERT,
    SEND_BUNDLES,
    SEND_DUE_DIGESTS,
    SWEEP_ALERT_NOTIFICATIONS,
    app,
    send_task_safely,
)
from core.db import session_scope
from core.models import Alert, utcnow
from core.settings import get_settings


def queue_dispatch() -> None:
    """Ask a worker to dispatch now; the beat's next tick does it if the broker is down."""
    send_task_safely(DISPATCH_NOTIFICATIONS)


@app.task(name=NOTIFY_ALERT)
def notify_alert(alert_id: int) -> dict[str, int]:
    """Queue the notifications of one new or escalated alert; safe to run twice."""
    with session_scope() as session:
        counts = queue_alert(session, get_settings(), alert_id)
    if counts["immediate"]:
        queue_dispatch()
    return counts


@app.task(name=DISPATCH_NOTIFICATIONS)
def dispatch_notifications() -> dict[str, int]:
    """Send every due outbox row (beat, every few seconds; two at once never double-send)."""
    with session_scope() as session:
        return dispatch_due(session, get_settings())


@app.task(name=SEND_BUNDLES)
def send_bundles() -> int:
    """Fold held lower-severity alerts into one message per recipient (beat, every minute)."""
    with session_scope() as session:
        n = queue_bundles(session, get_settings())
    if n:
        queue_dispatch()
    return n


@app.task(name=SEND_DUE_DIGESTS)
def send_due_digests() -> int:
    """Queue the daily digests that are due, catching up a missed day (beat, every minute)."""
    with session_scope() as session:
        n = len(queue_due_digests(session, get_settings()))
    if n:
        queue_dispatch()
    return n


@app.task(name=SWEEP_ALERT_NOTIFICATIONS)
def sweep_alert_notifications(minutes: int = 30) -> int:
    """Re-run notify_alert for alerts changed lately (beat): a request lost between the
    detection side's commit and its queueing is made up; the outbox keys keep it at once."""
    since = utcnow() - timedelta(minutes=minutes)
    queued = 0
    with session_scope() as session:
        ids = list(session.scalars(select(Alert.id).where(Alert.updated_at >= since)))
        for alert_id in ids:
            queued += queue_alert(session, get_settings(), alert_id)["immediate"]
    if queued:
        queue_dispatch()
    return queued
