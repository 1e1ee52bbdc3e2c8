"""Alert tasks, called by name from the ingest pipeline ("evaluate_document")."""

from __future__ import annotations

import logging

from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from alerts.rules import DocumentFacts, matches
from core.celery_app import app
from core.db import session_scope
from core.models import Alert, AlertEvent, Document, Rule, utcnow
from core.search.base import QuerySyntaxError

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


# Namespace of the advisory locks below (pg_advisory_xact_lock's first key).
STORY_LOCK_CLASS = 7001


def lock_story(session: Session, story_id: int | None) -> None:
    """Serialise alert evaluation per story until the transaction ends (PostgreSQL).

    Two workers evaluating documents of one story at once would each find no alert and
    open two. SQLite needs nothing: its writers already queue (BEGIN IMMEDIATE)."""
    if story_id is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :story)"),
            {"cls": STORY_LOCK_CLASS, "story": story_id},
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
    lock_story(session, doc.story_id)
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
            )
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
