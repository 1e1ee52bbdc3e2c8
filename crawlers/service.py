"""Crawl scheduling and one crawl of one source, with the source's health kept up to date.

A failing source is recorded (last_error, consecutive_failures, health), never raised: one
broken feed must not stop the others or flood the worker with retries. A transient failure
(timeout, 429, 5xx) is retried a few times within the source's poll interval. Every failed
attempt counts, retried or not, so a source that cannot be reached shows as failing from its
first attempt and is flagged after source_failure_threshold attempts, as by `diemtin crawl`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from classifier.base import Classifier
from core.models import CrawlRun, Source, utcnow
from core.settings import Settings, get_settings
from crawlers.connectors.base import CrawlOutput, get_connector
from crawlers.enrich import enrich_from_pages
from crawlers.http import FetchError
from crawlers.pipeline import IngestStats, ingest

log = logging.getLogger(__name__)

# 2**6 = 64 times the interval: a dead 15-minute feed is still tried every 16 hours.
MAX_BACKOFF_EXPONENT = 6
# In-task retries of a transient failure: at 1/8, 1/4 and 1/2 of the poll interval (a
# 15-minute feed: after ~2, 4 and 8 minutes), never sooner than MIN_RETRY_S, never later
# than MAX_RETRY_S; a Retry-After beyond that skips the retries and moves the next poll.
CRAWL_MAX_RETRIES = 3
MIN_RETRY_S = 2.0
MAX_RETRY_S = 3600.0
MAX_ERROR_CHARS = 2000
# Column sizes of sources.etag / sources.last_modified.
MAX_ETAG = 500
MAX_LAST_MODIFIED = 100


class CrawlRetry(Exception):
    """A transient failure worth another try in `countdown` seconds (already recorded on the
    run as "retrying"; the source's health is untouched until the last attempt)."""

    def __init__(self, message: str, countdown: float):
        super().__init__(message)
        self.message = message
        self.countdown = countdown


def retry_countdown(source: Source, attempt: int, retry_after: float | None = None) -> float:
    """Seconds before retry number `attempt` + 1: exponential in the poll interval, and
    never sooner than the server's Retry-After."""
    backoff = source.poll_interval_s * 2**attempt / 8
    return max(MIN_RETRY_S, min(backoff, MAX_RETRY_S), retry_after or 0.0)


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
    attempt: int = 0,
    max_attempts: int = 1,
) -> CrawlRun:
    """Poll one source, ingest what it gave, and record the run and the source's health.

    `attempt` counts from 0; before the last of `max_attempts`, a retryable fetch failure
    is recorded as a "retrying" run and raised as CrawlRetry. Otherwise raises LookupError
    only when the source does not exist; every crawl failure is recorded on the CrawlRun
    and the Source instead."""
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
            if source.kind == "rss":
                enrich_from_pages(session, source, output, settings)
            stats = ingest(session, source, output.items, classifier=classifier)
    except Exception as exc:
        session.rollback()
        countdown = _retry_in(session, source_id, exc, attempt, max_attempts)
        flagged = _record_failure(session, source_id, run.id, exc, settings)
        # A flagged source waits for an admin; retrying it would only add failures.
        if countdown is not None and not flagged:
            _record_retry(session, source_id, run.id, countdown)
            session.commit()
            raise CrawlRetry(str(exc), countdown) from exc
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


def _retry_in(
    session: Session, source_id: int, exc: Exception, attempt: int, max_attempts: int
) -> float | None:
    """Seconds until another try, or None when this failure is final."""
    if not (isinstance(exc, FetchError) and exc.retryable) or attempt + 1 >= max_attempts:
        return None
    source = session.get(Source, source_id)
    if source is None:
        return None
    countdown = retry_countdown(source, attempt, exc.retry_after)
    # A server that asks for a longer pause than we would wait gets it through the schedule.
    return None if countdown > MAX_RETRY_S else countdown


def _record_retry(session: Session, source_id: int, run_id: int, countdown: float) -> None:
    """Turn the failure just recorded into a "retrying" one: the run says when, and the
    scheduler must not queue a second crawl while this one waits."""
    now = utcnow()
    source = session.get(Source, source_id)
    run = session.get(CrawlRun, run_id)
    if source is not None:
        source.last_error = f"{source.last_error} (retrying in {countdown:g}s)"[:MAX_ERROR_CHARS]
        hold = now + timedelta(seconds=countdown) + next_poll_delay(source)
        if source.next_poll_at is None or source.next_poll_at < hold:
            source.next_poll_at = hold
    if run is not None:
        run.status = "retrying"
        run.error = f"{run.error} (retrying in {countdown:g}s)"[:MAX_ERROR_CHARS]
    log.info("crawl of source %s failed, retrying in %gs", source_id, countdown)


def _record_failure(
    session: Session, source_id: int, run_id: int, exc: Exception, settings: Settings
) -> bool:
    """Record one failed attempt on the run and the source; True when it flagged the source."""
    now = utcnow()
    message = str(exc) if isinstance(exc, FetchError) else f"{type(exc).__name__}: {exc}"
    message = message[:MAX_ERROR_CHARS]
    source = session.get(Source, source_id)
    run = session.get(CrawlRun, run_id)
    flagged = False
    if source is not None:
        source.last_polled_at = now
        source.last_error = message
        source.last_error_at = now
        source.consecutive_failures = (source.consecutive_failures or 0) + 1
        flagged = source.consecutive_failures >= settings.crawl.source_failure_threshold
        # Flagged sources are skipped by the scheduler until an admin looks at them.
        source.health = "flagged" if flagged else "failing"
        source.next_poll_at = now + next_poll_delay(source)
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        if retry_after and source.next_poll_at < now + timedelta(seconds=retry_after):
            # 429/503 with Retry-After: the next poll honours the server's wish.
            source.next_poll_at = now + timedelta(seconds=retry_after)
    if run is not None:
        run.finished_at = now
        run.status = "failed"
        run.error = message
    if isinstance(exc, FetchError):
        log.warning("crawl of source %s failed: %s", source_id, message)
    else:
        log.exception("crawl of source %s failed unexpectedly", source_id, exc_info=exc)
    return flagged
