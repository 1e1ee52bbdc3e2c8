"""Celery tasks of the crawl queue. They take ids and are safe to run twice."""

from __future__ import annotations

import logging

from core.celery_app import app
from core.db import session_scope
from crawlers.pipeline import send_task_safely
from crawlers.service import claim_due_sources, crawl

log = logging.getLogger(__name__)


@app.task(name="schedule_sources")
def schedule_sources() -> int:
    """Queue a crawl for every source that is due (the beat runs this every few seconds)."""
    with session_scope() as session:
        source_ids = claim_due_sources(session)
    # Sent after the commit: a crawl_source that starts at once must see the new next_poll_at.
    for source_id in source_ids:
        send_task_safely("crawl_source", args=[source_id])
    return len(source_ids)


@app.task(name="crawl_source")
def crawl_source(source_id: int) -> str | None:
    """Crawl one source; failures are recorded on the source, never raised."""
    try:
        with session_scope() as session:
            run = crawl(session, source_id)
            return run.status
    except LookupError:
        # Deleted between scheduling and crawling: nothing to do.
        log.info("source %s no longer exists; crawl skipped", source_id)
    except Exception:
        # Only the database itself can get here (crawl() records everything else); the
        # next scheduler tick tries again.
        log.exception("crawl of source %s could not be recorded", source_id)
    return None
