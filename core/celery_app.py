"""The Celery app, configured from settings.

Embedded default: kombu's SQLAlchemy transport on a SQLite file beside the database, so one
machine needs no Redis (see docs/decisions.md). Scaled: DIEMTIN_BROKER_URL=redis://...
Tasks are named `<verb>_<noun>` and take ids; other layers call them by name."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import kombu.pools
from celery import Celery, Task
from celery.utils.time import get_exponential_backoff_interval
from kombu.transport.sqlalchemy import Transport as SqlaTransport

from core import broker
from core.dberrors import is_database_busy
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Task names, in one place: a layer queues another layer's task by name (send_task_safely),
# never by importing it, so crawlers and alerts stay apart (architecture.md).
CRAWL_SOURCE = "crawl_source"
SCHEDULE_SOURCES = "schedule_sources"
CLASSIFY_DOCUMENT = "classify_document"
CLASSIFY_DOCUMENTS = "classify_documents"
EVALUATE_DOCUMENT = "evaluate_document"
EVALUATE_DOCUMENTS = "evaluate_documents"
DETECT_SPIKES = "detect_spikes"
INDEX_DOCUMENTS = "index_documents"
NOTIFY_ALERT = "notify_alert"
DISPATCH_NOTIFICATIONS = "dispatch_notifications"
SEND_BUNDLES = "send_bundles"
SEND_DUE_DIGESTS = "send_due_digests"
SWEEP_ALERT_NOTIFICATIONS = "sweep_alert_notifications"
SWEEP_STALE_WORK = "sweep_stale_work"

QUEUES = ("crawl", "classify", "alerts", "index")
# Every task has a queue, so each kind of work scales with its own workers.
TASK_ROUTES = {
    CRAWL_SOURCE: {"queue": "crawl"},
    SCHEDULE_SOURCES: {"queue": "crawl"},
    CLASSIFY_DOCUMENT: {"queue": "classify"},
    CLASSIFY_DOCUMENTS: {"queue": "classify"},
    EVALUATE_DOCUMENT: {"queue": "alerts"},
    EVALUATE_DOCUMENTS: {"queue": "alerts"},
    DETECT_SPIKES: {"queue": "alerts"},
    INDEX_DOCUMENTS: {"queue": "index"},
    NOTIFY_ALERT: {"queue": "alerts"},
    DISPATCH_NOTIFICATIONS: {"queue": "alerts"},
    SEND_BUNDLES: {"queue": "alerts"},
    SEND_DUE_DIGESTS: {"queue": "alerts"},
    SWEEP_ALERT_NOTIFICATIONS: {"queue": "alerts"},
    SWEEP_STALE_WORK: {"queue": "alerts"},
}
TASK_MODULES = [
    "core.tasks",
    "crawlers.tasks",
    "crawlers.classify",
    "crawlers.sweep",
    "alerts.detection.tasks",
    "alerts.notify.tasks",
]

# A task that meets a busy or unreachable database is retried this often, with exponential
# backoff up to DB_RETRY_MAX_S between tries (about 20 minutes in all).
DB_MAX_RETRIES = 12
DB_RETRY_MAX_S = 180


class DiemtinTask(Task):  # type: ignore[misc]
    """Every task: a busy database ("database is locked", a PostgreSQL restart) is retried
    through the broker with backoff instead of dropping the work. Each task's transaction
    rolled back with the error, and every task is idempotent, so the retry neither loses
    nor repeats anything."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if not is_database_busy(exc) or self.request.called_directly:
                raise
            retries = self.request.retries or 0
            countdown = get_exponential_backoff_interval(
                factor=2, retries=retries, maximum=DB_RETRY_MAX_S, full_jitter=True
            )
            log.warning(
                "%s: database busy (%s); retry %d in %d s",
                self.name, str(exc).splitlines()[0][:160], retries + 1, countdown,
            )  # fmt: skip
            raise self.retry(exc=exc, countdown=countdown, max_retries=DB_MAX_RETRIES) from None


app = Celery("diemtin", task_cls=DiemtinTask)


def configure(settings: Settings | None = None) -> Celery:
    """Apply settings to the Celery app (called at import, and again by tests)."""
    s = settings or get_settings()
    app.conf.update(
        broker_url=s.celery_broker_url,
        result_backend=s.celery_result_backend,
        task_ignore_result=True,
        task_always_eager=s.celery.eager,
        task_eager_propagates=True,
        # A task is acknowledged after it ran, so a killed worker's task is redone; every
        # task is idempotent for that reason.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="default",
        task_routes=TASK_ROUTES,
        broker_transport_options=transport_options(s),
        broker_connection_retry_on_startup=True,
        # Workers and beat outlive a broker restart of any length instead of exiting.
        broker_connection_max_retries=None,
        timezone=s.timezone,
        enable_utc=True,
        beat_schedule={
            "schedule-sources": {
                "task": SCHEDULE_SOURCES,
                "schedule": float(s.crawl.scheduler_tick_s),
            },
            "index-documents": {"task": INDEX_DOCUMENTS, "schedule": float(s.search.index_tick_s)},
            "dispatch-notifications": {
                "task": DISPATCH_NOTIFICATIONS,
                "schedule": float(s.notify.dispatch_tick_s),
            },
            "send-bundles": {"task": SEND_BUNDLES, "schedule": 60.0},
            "send-due-digests": {"task": SEND_DUE_DIGESTS, "schedule": 60.0},
            # notify_alert requests lost in a crash after the detection commit are redone.
            "sweep-alert-notifications": {"task": SWEEP_ALERT_NOTIFICATIONS, "schedule": 300.0},
            # Documents a lost task left unclassified, unindexed or unevaluated; dead runs.
            "sweep-stale-work": {
                "task": SWEEP_STALE_WORK,
                "schedule": float(s.celery.sweep_tick_s),
            },
            # Spikes compare whole days; a quarter-hour is soon enough and cheap.
            "detect-spikes": {"task": DETECT_SPIKES, "schedule": 900.0},
        },
        include=TASK_MODULES,
    )
    return app


def send_task_safely(name: str, args: Iterable[Any] = ()) -> bool:
    """Queue a Celery task by name; log, never raise, when the broker is unavailable."""
    try:
        if app.conf.task_always_eager:
            # send_task ignores eager mode; run the registered task in-process instead.
            task = app.tasks.get(name)
            if task is not None:
                task.apply(args=list(args))
                return True
        app.send_task(name, args=list(args))
        return True
    except Exception:
        log.warning("could not queue task %s; the beat will catch up", name, exc_info=True)
        return False


def transport_options(s: Settings) -> dict[str, float]:
    """Broker transport options: how soon a dead worker's unacknowledged task is redone."""
    if s.celery_broker_url.startswith("sqla+"):
        # The embedded broker (core.broker) redelivers a dead worker's messages once their
        # lease is this old; its polling interval is set on the transport class below.
        return {"visibility_timeout": s.celery.broker_visibility_timeout_s}
    timeout = s.celery.redis_visibility_timeout_s
    # kombu's Redis transport sweeps for expired messages every interval x throttle
    # seconds (10 x 10 by default); a quarter of the timeout, every sweep, bounds the delay.
    return {
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1.0, min(timeout / 4, 60.0)),
        "unacked_restore_throttle": 1,
    }


def reset_pools() -> None:
    """Drop cached broker connections (after the broker URL changed, e.g. between tests)."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    # kombu keeps producer pools per connection URL in a process-wide registry: a closed
    # pool would otherwise be handed back for the same URL ("Acquire on closed pool").
    kombu.pools.reset()


# Beat-driven tasks that run every few seconds: their "received"/"succeeded" lines and
# beat's "Sending due task" are routine (1,400 INFO lines in 8 minutes of demo) and go to
# DEBUG; failures and retries keep their levels.
ROUTINE_TASKS = frozenset(
    {
        SCHEDULE_SOURCES,
        INDEX_DOCUMENTS,
        DISPATCH_NOTIFICATIONS,
        SEND_BUNDLES,
        SEND_DUE_DIGESTS,
        SWEEP_ALERT_NOTIFICATIONS,
        SWEEP_STALE_WORK,
        DETECT_SPIKES,
    }
)


class RoutineTicksToDebug(logging.Filter):
    """Demotes the INFO lines of routine ticks to DEBUG (shown only when DEBUG is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not self._routine(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)

    @staticmethod
    def _routine(record: logging.LogRecord) -> bool:
        if record.name == "celery.beat":
            return str(record.msg).startswith("Scheduler: Sending due task")
        from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

        args = record.args
        name = args.get("name") if isinstance(args, dict) else None
        return record.msg in (LOG_RECEIVED, LOG_SUCCESS) and name in ROUTINE_TASKS


for _logger in ("celery.beat", "celery.app.trace", "celery.worker.strategy"):
    logging.getLogger(_logger).addFilter(RoutineTicksToDebug())

# The embedded broker polls its SQLite table; half a second keeps the demo snappy.
SqlaTransport.polling_interval = 0.5
broker.install()
configure()
