"""Crawl scheduling and one crawl of one source, with the source's health kept up to date.

A failing source is recorded (last_error, consecutive_failures, health), never raised: one
broken feed must not stop the others or flood the worker with retries."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.models import CrawlRun, Source, utcnow
from core.settings import Settings, get_settings
from crawlers.connectors.base import CrawlOutput, get_connector
from crawlers.http import FetchError
from crawlers.pipeline import Classifier, IngestStats, ingest

log = logging.getLogger(__name__)

# 2**6 = 64 times the interval: a dead 15-minute feed is still tried every 16 hours.
MAX_BACKOFF_EXPONENT = 6
MAX_ERROR_CHARS = 2000
# Column sizes of sources.etag / sources.last_modified.
MAX_ETAG = 500
MAX_LAST_MODIFIED = 100


def next_poll_delay(source: Source) -> timedelta:
    """The wait before the next poll: the interval, doubled per consecutive failure."""
    failures = min(source.consecutive_failures or 0, MAX_BACKOFF_EXPONENT)
    return timedelta(seconds=source.poll_interval_s * 2**failures)


def claim_due_sources(
    session: Session, *, now: datetime | None = None, limit: int | None = None
) -> list[int]:
    """Ids of enabled, unflagged sources due for a poll; their next_poll_at is moved on and
    committed first, so the next scheduler tick does not queue them again."""
    now = now or utcnow()
    stmt = (
        select(Source)
        .where(
            Source.enabled.is_(True),
            Source.health != "flagged",
            or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now),
        )
        .order_by(Source.next_poll_at.is_not(None), Source.next_poll_at, Source.id)
    )
    if limit:
        stmt = stmt.limit(limit)
    sources = list(session.scalars(stmt))
    for source in sources:
        source.next_poll_at = now + next_poll_delay(source)
    session.commit()
    return [s.id for s in sources]


def crawl(
    session: Session,
    source_id: int,
    *,
    settings: Settings | None = None,
    classifier: Classifier | None = None,
) -> CrawlRun:
    """Poll one source, ingest what it gave, and record the run and the source's health.

    Raises LookupError only when the source does not exist; every crawl failure is
    recorded on the CrawlRun and the Source instead."""
    settings = settings or get_settings()
    source = session.get(Source, source_id)
    if source is None:
        raise LookupError(f"source {source_id} does not exist")
    run = CrawlRun(source_id=source_id, started_at=utcnow(), status="running")
    session.add(run)
    session.commit()

    try:
        output = get_connector(source.kind).fetch(source, settings)
        stats = IngestStats()
        if not output.not_modified:
            stats = ingest(session, source, output.items, classifier=classifier)
    except Exception as exc:
        session.rollback()
        _record_failure(session, source_id, run.id, exc, settings)
    else:
        _record_success(session, source, run, output, stats)
    session.commit()
    session.refresh(run)
    return run


def _record_success(
    session: Session, source: Source, run: CrawlRun, output: CrawlOutput, stats: IngestStats
) -> None:
    now = utcnow()
    if output.etag or output.last_modified or not output.not_modified:
        # A 200 without validators clears stale ones; a 304 keeps what we sent.
        source.etag = (output.etag or "")[:MAX_ETAG] or None
        source.last_modified = (output.last_modified or "")[:MAX_LAST_MODIFIED] or None
    source.last_polled_at = now
    source.last_success_at = now
    source.health = "ok"
    source.consecutive_failures = 0
    source.items_total = (source.items_total or 0) + stats.new
    if source.next_poll_at is None or source.next_poll_at <= now:
        # Crawled outside the scheduler (first poll, "crawl now"): start the regular rhythm.
        source.next_poll_at = now + next_poll_delay(source)
    run.finished_at = now
    run.status = "not_modified" if output.not_modified else "ok"
    run.items_seen, run.items_new, run.items_updated = stats.seen, stats.new, stats.updated
    problems = output.errors + stats.error_messages
    run.error = "\n".join(problems)[:MAX_ERROR_CHARS] or None
    log.info(
        "crawled source %s (%s): %s seen, %s new, %s updated, %s errors",
        source.id,
        run.status,
        stats.seen,
        stats.new,
        stats.updated,
        stats.errors + len(output.errors),
    )


def _record_failure(
    session: Session, source_id: int, run_id: int, exc: Exception, settings: Settings
) -> None:
    now = utcnow()
    message = str(exc) if isinstance(exc, FetchError) else f"{type(exc).__name__}: {exc}"
    message = message[:MAX_ERROR_CHARS]
    source = session.get(Source, source_id)
    run = session.get(CrawlRun, run_id)
    if source is not None:
        source.last_polled_at = now
        source.last_error = message
        source.last_error_at = now
        source.consecutive_failures = (source.consecutive_failures or 0) + 1
        flagged = source.consecutive_failures >= settings.source_failure_threshold
        # Flagged sources are skipped by the scheduler until an admin looks at them.
        source.health = "flagged" if flagged else "failing"
        source.next_poll_at = now + next_poll_delay(source)
    if run is not None:
        run.finished_at = now
        run.status = "failed"
        run.error = message
    if isinstance(exc, FetchError):
        log.warning("crawl of source %s failed: %s", source_id, message)
    else:
        log.exception("crawl of source %s failed unexpectedly", source_id, exc_info=exc)
