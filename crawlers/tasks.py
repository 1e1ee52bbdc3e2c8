"""Celery tasks of the crawl queue. They take ids and are safe to run twice."""

from __future__ import annotations

import logging

from celery import Task
from celery.signals import worker_init
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.celery_app import (
    CLASSIFY_DOCUMENT,
    CRAWL_SOURCE,
    EVALUATE_DOCUMENT,
    INDEX_DOCUMENTS,
    SCHEDULE_SOURCES,
    app,
    send_task_safely,
)
from core.db import session_scope
from core.dberrors import is_database_busy
from core.geo.locate import default_index
from core.models import Document, utcnow
from crawlers.labelling import classification_text, default_classifier, store_prediction
from crawlers.service import CRAWL_MAX_RETRIES, CrawlRetry, claim_due_sources, crawl

log = logging.getLogger(__name__)


@worker_init.connect
def build_place_index(**_: object) -> None:
    """Build the place index (core.geo) as the worker starts, not inside its first crawl: it
    takes ~0.5 s on an idle 2-core machine and seconds under load, which pushed a 3 s crawl
    past the broker's visibility timeout and got it delivered twice (tests/scale). A prefork
    pool's children inherit it."""
    default_index()


@app.task(name=SCHEDULE_SOURCES)
def schedule_sources() -> int:
    """Queue a crawl for every source that is due (the beat runs this every few seconds)."""
    with session_scope() as session:
        source_ids = claim_due_sources(session)
    # Sent after the commit: a crawl_source that starts at once must see the new next_poll_at.
    for source_id in source_ids:
        send_task_safely(CRAWL_SOURCE, args=[source_id])
    return len(source_ids)


@app.task(name=CRAWL_SOURCE, bind=True, max_retries=CRAWL_MAX_RETRIES)
def crawl_source(self: Task, source_id: int) -> str | None:
    """Crawl one source; a transient failure is retried with backoff through the broker
    (Celery's Retry), the last failure is recorded on the source; nothing else is raised."""
    # Called directly or eagerly there is no broker to come back through: one attempt.
    direct = self.request.called_directly or self.request.is_eager
    max_attempts = 1 if direct else CRAWL_MAX_RETRIES + 1
    attempt = min(self.request.retries or 0, CRAWL_MAX_RETRIES)
    try:
        with session_scope() as session:
            run = crawl(session, source_id, attempt=attempt, max_attempts=max_attempts)
            return run.status
    except CrawlRetry as retry:
        # A new message with an ETA; this one is acknowledged once it is queued.
        raise self.retry(countdown=retry.countdown, max_retries=CRAWL_MAX_RETRIES) from None
    except LookupError:
        # Deleted between scheduling and crawling: nothing to do.
        log.info("source %s no longer exists; crawl skipped", source_id)
    except Exception as exc:
        if is_database_busy(exc):
            raise  # retried with backoff by DiemtinTask; a crawl is idempotent
        # Only the database itself can get here (crawl() records everything else); the
        # next scheduler tick tries again.
        log.exception("crawl of source %s could not be recorded", source_id)
    return None


def classify_stored_document(doc_id: str) -> str | None:
    """Classify a stored document with the current model and mark it for re-indexing;
    returns the model version, or None when the document is gone. Safe to run twice: the
    classification of a (document, model version) is replaced, never added again."""
    classifier = default_classifier()
    with session_scope() as session:
        doc = session.scalar(
            select(Document)
            .where(Document.id == doc_id)
            .options(selectinload(Document.classifications))
        )
        if doc is None:
            return None
        [pred] = classifier.predict([classification_text(doc)])
        now = utcnow()
        store_prediction(doc, pred, now)
        # The labels are part of the index: the indexer picks the document up again.
        doc.indexed_at = None
        doc.updated_at = now
    return pred.model_version


@app.task(name=CLASSIFY_DOCUMENT, bind=True, max_retries=3)
def classify_document(self: Task, doc_id: str) -> str | None:
    """(Re)classify one stored document on the classify queue, then queue its indexing and
    alert evaluation; safe to run twice."""
    try:
        version = classify_stored_document(doc_id)
    except IntegrityError:
        # Another worker stored the same (document, model version) first: run again so
        # this one replaces it rather than adds a second row.
        raise self.retry(countdown=1) from None
    if version is not None:
        send_task_safely(INDEX_DOCUMENTS)
        send_task_safely(EVALUATE_DOCUMENT, args=[doc_id])
    return version
