"""The sweep (beat, every few minutes): work that a lost task left undone is queued again.

A document is stored first and then classified, indexed and evaluated for alerts by separate
tasks; a task dropped by a crash, a lock that outlasted its retries or a broker restart would
leave the document unlabelled, unsearchable or unevaluated for good. Every task is idempotent,
so queueing a document twice costs one redundant pass, never a duplicate. Crawl runs left
"running" by a killed worker are closed as "interrupted" here and at worker start-up."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from celery import signals
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from classifier.artefact import CONFIG_FILE, artefact_dir
from core.celery_app import (
    CLASSIFY_DOCUMENTS,
    EVALUATE_DOCUMENTS,
    INDEX_DOCUMENTS,
    SWEEP_STALE_WORK,
    app,
    send_task_safely,
)
from core.db import new_session, session_scope
from core.models import Classification, CrawlRun, Document, utcnow
from core.settings import Settings, get_settings
from crawlers.classify import model_enabled

log = logging.getLogger(__name__)
# Per kind and sweep: enough to catch up after an outage within a few sweeps, small enough
# that one sweep's tasks do not crowd out fresh work.
SWEEP_LIMIT = 1000
BATCH = 100
# Documents older than this are the relabel command's business, not the sweep's: a new model
# version would otherwise relabel the whole history five minutes after it is installed.
CLASSIFY_WINDOW = timedelta(days=2)
INTERRUPTED = "interrupted"


def model_version(settings: Settings) -> str | None:
    """The trained model's version when ingest queues it (setting on, artefact present)."""
    if not model_enabled(settings):
        return None
    config = json.loads((artefact_dir(settings) / CONFIG_FILE).read_text(encoding="utf-8"))
    return str(config["version"])


def unevaluated(session: Session, settings: Settings, limit: int = SWEEP_LIMIT) -> list[str]:
    """Documents stored more than the grace period ago and never evaluated for alerts."""
    before = utcnow() - timedelta(seconds=settings.celery.sweep_grace_s)
    return list(
        session.scalars(
            select(Document.id)
            .where(Document.evaluated_at.is_(None), Document.fetched_at < before)
            .order_by(Document.fetched_at)
            .limit(limit)
        )
    )


def unclassified(
    session: Session, settings: Settings, version: str, limit: int = SWEEP_LIMIT
) -> list[str]:
    """Recent documents past the grace period without a label row of the model `version`."""
    now = utcnow()
    labelled = exists().where(
        and_(Classification.document_id == Document.id, Classification.model_version == version)
    )
    return list(
        session.scalars(
            select(Document.id)
            .where(
                Document.fetched_at < now - timedelta(seconds=settings.celery.sweep_grace_s),
                Document.fetched_at >= now - CLASSIFY_WINDOW,
                ~labelled,
            )
            .order_by(Document.fetched_at)
            .limit(limit)
        )
    )


def unindexed_count(session: Session) -> int:
    """How many documents wait for the search index."""
    return int(session.scalar(select(func.count()).where(Document.indexed_at.is_(None))) or 0)


def close_interrupted_runs(session: Session, *, older_than_s: float) -> int:
    """Close crawl runs still "running" after `older_than_s` (their worker died); commits."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    closed = session.execute(
        update(CrawlRun)
        .where(CrawlRun.status == "running", CrawlRun.started_at < cutoff)
        .values(
            status=INTERRUPTED,
            finished_at=utcnow(),
            error="Lần quét bị gián đoạn (tiến trình quét đã dừng giữa chừng).",
        )
    ).rowcount
    session.commit()
    if closed:
        log.warning("closed %d crawl runs left running as interrupted", closed)
    return int(closed or 0)


def _batches(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]


def sweep(settings: Settings | None = None) -> dict[str, int]:
    """Find stale work and queue it again; returns how much of each kind was queued."""
    settings = settings or get_settings()
    # Reads first, without the write lock; the only write is the run closing below.
    with new_session(read_only=True) as session:
        evaluate = unevaluated(session, settings)
        version = model_version(settings)
        classify = unclassified(session, settings, version) if version else []
        pending = unindexed_count(session)
    for batch in _batches(evaluate):
        send_task_safely(EVALUATE_DOCUMENTS, args=[batch])
    for batch in _batches(classify):
        send_task_safely(CLASSIFY_DOCUMENTS, args=[batch])
    if pending:
        send_task_safely(INDEX_DOCUMENTS)
    with session_scope() as session:
        interrupted = close_interrupted_runs(
            session, older_than_s=settings.celery.crawl_run_stale_s
        )
    found = {
        "evaluate": len(evaluate),
        "classify": len(classify),
        "index": pending,
        "interrupted": interrupted,
    }
    if any(found.values()):
        log.info("sweep queued stale work again: %s", found)
    return found


@app.task(name=SWEEP_STALE_WORK)
def sweep_stale_work() -> dict[str, int]:
    """Queue again documents never classified, indexed or evaluated; close dead crawl runs."""
    return sweep()


@signals.worker_ready.connect
def close_runs_at_start(sender: Any = None, **_: Any) -> None:
    """A worker that starts closes runs a killed worker left "running".

    On the embedded broker there is one worker per machine, so every running run is dead;
    with several workers (Redis) only runs older than the stale bound are."""
    settings = get_settings()
    embedded = settings.celery_broker_url.startswith("sqla+")
    try:
        with session_scope() as session:
            close_interrupted_runs(
                session, older_than_s=0.0 if embedded else settings.celery.crawl_run_stale_s
            )
    except Exception:
        # A busy or unreachable database must not stop the worker; the sweep tries again.
        log.warning("could not close interrupted crawl runs at start-up", exc_info=True)
