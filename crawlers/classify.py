"""The trained model's labels for ingested documents (Celery task `classify_documents`).

Ingest labels documents inline with the keyword baseline so search and alerts work at once;
then it queues this task with the ids it touched. The task loads the process-wide model once,
stores its Classification row (one per document and model version), marks the documents for
re-indexing and queues alert evaluation again, so both see the model's labels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only, selectinload

# Connects classifier.cores.share_cores: a worker parent sets its children's encoder threads.
import classifier.cores  # noqa: F401
from classifier.artefact import artefact_dir, has_artefact
from classifier.base import Classifier, Prediction
from classifier.baseline import BaselineClassifier
from classifier.kinds import document_kind
from core.celery_app import (
    CLASSIFY_DOCUMENTS,
    EVALUATE_DOCUMENTS,
    INDEX_DOCUMENTS,
    app,
    send_task_safely,
)
from core.db import lock_for_write, retry_on_lock, session_scope
from core.models import Document, utcnow
from core.settings import Settings, get_settings
from crawlers.labelling import classification_text, store_prediction

log = logging.getLogger(__name__)
# One forward pass per batch; the classifier itself sub-batches by length.
BATCH = 64
# Labels written per transaction: 64 whole articles loaded under the lock held it 250-880 ms
# in bench/contention.py; only the columns the write needs are read, a few at a time.
STORE_SLICE = 16


def model_enabled(settings: Settings) -> bool:
    """True when ingest should queue the trained model (setting on and an artefact present)."""
    if not settings.classifier.model_enabled:
        return False
    return has_artefact(artefact_dir(settings))


def _needs_labels(doc: Document, version: str) -> bool:
    row = next((c for c in doc.classifications if c.model_version == version), None)
    # A row written after the document's last text change already describes this text.
    return row is None or row.created_at < doc.updated_at


def classify_stored(
    session: Session, doc_ids: Sequence[str], classifier: Classifier, *, batch: int = BATCH
) -> list[str]:
    """Store `classifier`'s labels for the given documents; returns the ids it (re)labelled.

    The model runs outside any transaction (a relabel once held SQLite's write lock 63 s);
    each batch's labels are then written in a short transaction of their own."""
    ids = list(dict.fromkeys(doc_ids))
    done: list[str] = []
    for start in range(0, len(ids), batch):
        docs = session.scalars(
            select(Document)
            .where(Document.id.in_(ids[start : start + batch]))
            .options(selectinload(Document.classifications))
        ).all()
        todo = [d for d in docs if _needs_labels(d, classifier.model_version)]
        # End the read before inference: a snapshot held for minutes keeps SQLite's WAL
        # from being checkpointed, and nothing here needs it any more.
        session.commit()
        if not todo:
            continue
        predictions = _predict(classifier, todo)
        labels = {d.id: (d.updated_at, p) for d, p in zip(todo, predictions, strict=True)}
        done += retry_on_lock(
            lambda labels=labels: _store_batch(session, labels), what="storing model labels"
        )
    return done


def _store_batch(session: Session, labels: dict[str, tuple[datetime, Prediction]]) -> list[str]:
    """Write one batch's labels, STORE_SLICE documents per short write transaction; ids stored.

    Safe to run again after a partial failure: a label row is replaced, never added twice."""
    items = list(labels.items())
    stored: list[str] = []
    for start in range(0, len(items), STORE_SLICE):
        stored += _store_slice(session, dict(items[start : start + STORE_SLICE]))
    return stored


def _store_slice(session: Session, labels: dict[str, tuple[datetime, Prediction]]) -> list[str]:
    try:
        # The check below must see the text the labels describe, with no writer in between.
        lock_for_write(session)
        docs = session.scalars(
            select(Document)
            .where(Document.id.in_(list(labels)))
            .options(
                load_only(
                    Document.id, Document.updated_at, Document.indexed_at, Document.index_error
                ),
                selectinload(Document.classifications),
            )
            .execution_options(populate_existing=True)
        ).all()
        now = utcnow()
        stored = []
        for doc in docs:
            read_at, pred = labels[doc.id]
            if doc.updated_at != read_at:
                # Recrawled with new text while the model ran: that change queued its own
                # relabel, and these labels describe the old text.
                continue
            store_prediction(doc, pred, now)
            # The index holds the baseline's topics and sentiment until it sees these.
            doc.indexed_at = None
            doc.index_error = None
            stored.append(doc.id)
        session.commit()
        return stored
    except Exception:
        session.rollback()
        raise


def _predict(classifier: Classifier, docs: Sequence[Document]) -> list[Prediction]:
    texts = [classification_text(d) for d in docs]
    # Imported here, as below: the model stack (torch) would cost every crawl worker, which
    # imports this module through the pipeline, ~6 s of start-up; only the classify queue runs it.
    from classifier.service import TrainedClassifier

    if not isinstance(classifier, TrainedClassifier):
        return classifier.predict(texts)
    from classifier.features import engagement_vector

    # Social posts carry likes/comments/shares: the misinformation head was trained with them.
    engagement = [
        engagement_vector(d.likes, d.comments, d.shares)
        if (d.likes, d.comments, d.shares) != (None, None, None)
        else None
        for d in docs
    ]
    # Each document is decided at its kind's thresholds (headline, title + lead, body, social).
    kinds = [document_kind(d.title, d.lead, d.body, document_kind=d.kind) for d in docs]
    return classifier.predict(texts, engagement=engagement, kinds=kinds)


@app.task(name=CLASSIFY_DOCUMENTS)
def classify_documents(doc_ids: list[str]) -> int:
    """Label documents with the trained model, re-index and re-evaluate them (idempotent)."""
    settings = get_settings()
    if not settings.classifier.model_enabled:
        return 0
    from classifier.service import get_classifier

    classifier = get_classifier(settings)
    if isinstance(classifier, BaselineClassifier):
        # No trained artefact: the inline baseline labels are all there is.
        return 0
    with session_scope() as session:
        done = classify_stored(session, doc_ids, classifier)
    log.info("classifier %s labelled %d documents", classifier.model_version, len(done))
    if done:
        send_task_safely(INDEX_DOCUMENTS)
        # One batch: one transaction, each story scored once (bench/alerts.py).
        send_task_safely(EVALUATE_DOCUMENTS, args=[list(done)])
    return len(done)
