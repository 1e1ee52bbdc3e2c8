"""Labelling inside ingest: the classifier protocol, the inline baseline, and storing labels.

Predictions are computed before the write transaction opens (crawlers.pipeline), so a slow
model never holds the database's writer lock."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from classifier.base import Classifier, Prediction
from classifier.baseline import BaselineClassifier
from core.models import Classification, Document, utcnow

log = logging.getLogger(__name__)


def classification_text(doc: Document) -> str:
    """The text a classifier sees for a document."""
    return joined_text(doc.title, doc.lead, doc.body)


def joined_text(*parts: str | None) -> str:
    """Title, lead and body as the classifier reads them: non-empty parts, one per line."""
    return "\n".join(part for part in parts if part)


def store_prediction(doc: Document, pred: Prediction, now: datetime | None = None) -> None:
    """Write `pred` as the document's classification for its model version (replacing)."""
    row = next((c for c in doc.classifications if c.model_version == pred.model_version), None)
    if row is None:
        row = Classification(model_version=pred.model_version)
        doc.classifications.append(row)
    row.relevance = pred.relevance
    row.topics = list(pred.topics)
    row.topic_scores = dict(pred.topic_scores)
    row.sentiment, row.sentiment_score = pred.sentiment, pred.sentiment_score
    row.risk, row.risk_score = pred.risk, pred.risk_score
    row.toxicity, row.misinformation = pred.toxicity, pred.misinformation
    row.created_at = now or utcnow()


def predict_texts(classifier: Classifier, texts: dict[str, str]) -> dict[str, Prediction]:
    """Labels of `texts` (document id -> text), to compute outside any write transaction;
    empty when the classifier fails (the documents are still worth keeping and searching)."""
    if not texts:
        return {}
    try:
        predictions = classifier.predict(list(texts.values()))
    except Exception:
        log.exception("classifier %s failed on %d documents", classifier.model_version, len(texts))
        return {}
    return dict(zip(texts, predictions, strict=True))


def store_labels(
    session: Session, docs: list[Document], labels: dict[str, Prediction]
) -> list[Document]:
    """Write the precomputed labels; returns the documents left unlabelled."""
    now = utcnow()
    unlabelled = []
    for doc in docs:
        pred = labels.get(doc.id)
        if pred is None:
            unlabelled.append(doc)
            continue
        try:
            with session.begin_nested():
                store_prediction(doc, pred, now)
        except Exception:
            log.exception("storing classification of document %s failed", doc.id)
    return unlabelled


_default_classifier: Classifier | None = None


def default_classifier() -> Classifier:
    """The classifier used when none is given (the keyword baseline for now)."""
    global _default_classifier
    if _default_classifier is None:
        _default_classifier = BaselineClassifier()
    return _default_classifier
