"""The Celery app, configured from settings.

Embedded default: kombu's SQLAlchemy transport on a SQLite file beside the database, so one
machine needs no Redis (see docs/decisions.md). Scaled: DIEMTIN_BROKER_URL=redis://...
Tasks are named `<verb>_<noun>` and take ids; other layers call them by name."""

from __future__ import annotations

from celery import Celery
from kombu.transport.sqlalchemy import Transport as SqlaTransport

from core import broker
from core.settings import Settings, get_settings

QUEUES = ("crawl", "classify", "alerts", "index")
TASK_MODULES = ["core.tasks", "crawlers.tasks", "crawlers.classify", "alerts.tasks"]

app = Celery("diemtin")


def configure(settings: Settings | None = None) -> Celery:
    """Apply settings to the Celery app (called at import, and again by tests)."""
    s = settings or get_settings()
    app.conf.update(
        broker_url=s.celery_broker_url,
        result_backend=s.celery_result_backend,
        task_ignore_result=True,
        task_always_eager=s.celery_eager,
        task_eager_propagates=True,
        # A task is acknowledged after it ran, so a killed worker's task is redone; every
        # task is idempotent for that reason.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="default",
        task_routes={
            "crawl_source": {"queue": "crawl"},
            "schedule_sources": {"queue": "crawl"},
            "classify_documents": {"queue": "classify"},
            "evaluate_document": {"queue": "alerts"},
            "index_documents": {"queue": "index"},
        },
        # The embedded broker (core.broker) redelivers a dead worker's messages once their
        # lease is this old; its polling interval is set on the transport class below.
        broker_transport_options={"visibility_timeout": s.broker_visibility_timeout_s}
        if s.celery_broker_url.startswith("sqla+")
        else {"visibility_timeout": 3600},
        broker_connection_retry_on_startup=True,
        timezone=s.timezone,
        enable_utc=True,
        beat_schedule={
            "schedule-sources": {"task": "schedule_sources", "schedule": float(s.scheduler_tick_s)},
            "index-documents": {"task": "index_documents", "schedule": float(s.index_tick_s)},
        },
        include=TASK_MODULES,
    )
    return app


def reset_pools() -> None:
    """Drop cached broker connections (after the broker URL changed, e.g. between tests)."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


# The embedded broker polls its SQLite table; half a second keeps the demo snappy.
SqlaTransport.polling_interval = 0.5
broker.install()
configure()
