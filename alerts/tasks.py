"""Alert tasks, called by name from the ingest pipeline ("evaluate_document")."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from alerts.lifecycle import set_deadline
from alerts.rules import DocumentFacts, matches
from core.celery_app import app
from core.db import session_scope
from core.models import Alert, AlertEvent, Document, Rule, utcnow
from core.search.base import QuerySyntaxError
from core.settings import get_settings

log = logging.getLogger(__name__)


def facts_of(doc: Document) -> DocumentFacts:
    """The facts a rule looks at, from a stored, classified document."""
    cls = doc.classification
    return DocumentFacts(
        text=f"{doc.title}\n{doc.lead}\n{doc.body}",
        topics=list(cls.topics) if cls else [],
        sentiment=cls.sentiment if cls else None,
        risk=cls.risk if cls else None,
        source_id=doc.source_id,
        units=[u.id for u in doc.units],
        reach=(doc.likes or 0) + (doc.shares or 0) + (doc.comments or 0),
    )


def evaluate_rules(session: Session, doc_id: str) -> list[Alert]:
    """Open or grow one alert per (rule, story) that this document matches (idempotent)."""
    doc = session.scalar(
        select(Document)
        .where(Document.id == doc_id)
        .options(selectinload(Document.classifications), selectinload(Document.units))
    )
    if doc is None:
        return []
    facts = facts_of(doc)
    touched = []
    for rule in session.scalars(select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.id)):
        try:
            if not matches(rule.query, rule.filters or {}, facts):
                continue
        except QuerySyntaxError as exc:
            log.warning("rule %s has an unusable query: %s", rule.id, exc)
            continue
        alert = session.scalar(
            select(Alert).where(
                Alert.kind == "rule", Alert.rule_id == rule.id, Alert.story_id == doc.story_id
            )
        )
        if alert is None:
            alert = Alert(
                kind="rule",
                rule_id=rule.id,
                story_id=doc.story_id,
                title=doc.story.title if doc.story else doc.title,
                severity=rule.severity or "medium",
                details={"documents": []},
                created_at=utcnow(),
            )
            set_deadline(alert, get_settings().response_deadlines_h)
            session.add(alert)
            session.flush()
            session.add(AlertEvent(alert_id=alert.id, kind="created", data={"rule": rule.name}))
        documents = list(alert.details.get("documents", []))
        if doc.id in documents:
            continue  # the same document evaluated twice changes nothing
        alert.details = {**alert.details, "documents": [*documents, doc.id]}
        alert.updated_at = utcnow()
        session.add(AlertEvent(alert_id=alert.id, kind="document_added", data={"document": doc.id}))
        touched.append(alert)
    session.commit()
    return touched


@app.task(name="evaluate_document")
def evaluate_document(doc_id: str) -> int:
    """Evaluate the alert rules on one new or changed document; safe to run twice."""
    with session_scope() as session:
        return len(evaluate_rules(session, doc_id))
