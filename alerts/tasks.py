"""Alert tasks, called by name: "evaluate_document" (from the ingest pipeline) and
"detect_spikes" (from the beat). Both are idempotent: running one twice changes nothing."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from alerts import factbank
from alerts.rules import DocumentFacts, compiled_rules, matching_rules
from alerts.spikes import DEFAULT_CALENDAR, detect
from alerts.story_alerts import Outcome, upsert_hot, upsert_misinfo
from alerts.units import get_matcher, link_units
from core.celery_app import app
from core.db import session_scope
from core.models import Alert, AlertEvent, Document, utcnow
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def document_text(doc: Document) -> str:
    """The text rules, unit matching and scoring look at."""
    return f"{doc.title}\n{doc.lead}\n{doc.body}"


def facts_of(doc: Document, unit_ids: list[int] | None = None) -> DocumentFacts:
    """The facts a rule looks at, from a stored, classified document."""
    cls = doc.classification
    return DocumentFacts(
        text=document_text(doc),
        topics=list(cls.topics) if cls else [],
        sentiment=cls.sentiment if cls else None,
        risk=cls.risk if cls else None,
        source_id=doc.source_id,
        units=unit_ids if unit_ids is not None else [u.id for u in doc.units],
        reach=(doc.likes or 0) + (doc.shares or 0) + (doc.comments or 0),
    )


def _load(session: Session, doc_id: str) -> Document | None:
    return session.scalar(
        select(Document)
        .where(Document.id == doc_id)
        .options(
            selectinload(Document.classifications),
            selectinload(Document.units),
            joinedload(Document.story),
        )
    )


def _rule_alerts(session: Session, doc: Document, facts: DocumentFacts, out: Outcome) -> None:
    """Open or grow one alert per (rule, story) that this document matches."""
    for rule in matching_rules(compiled_rules(session), facts):
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
                unit_id=facts.units[0] if facts.units else None,
                title=doc.story.title if doc.story else doc.title,
                severity=rule.severity or "medium",
                details={"documents": []},
            )
            session.add(alert)
            session.flush()
            session.add(AlertEvent(alert_id=alert.id, kind="created", data={"rule": rule.name}))
            out.notify.append(alert.id)
        documents = list(alert.details.get("documents", []))
        if doc.id in documents:
            continue  # the same document evaluated twice changes nothing
        alert.details = {**alert.details, "documents": [*documents, doc.id]}
        alert.updated_at = utcnow()
        session.add(AlertEvent(alert_id=alert.id, kind="document_added", data={"document": doc.id}))
        out.touched.append(alert)


def evaluate(
    session: Session,
    doc_id: str,
    *,
    settings: Settings | None = None,
    embedder: factbank.Embedder | None = None,
) -> Outcome:
    """Link units, apply rules, match the fact bank and score the story of one document;
    commits, and returns the alerts to notify (created or escalated)."""
    settings = settings or get_settings()
    out = Outcome()
    doc = _load(session, doc_id)
    if doc is None:
        return out
    matcher = get_matcher(session, settings.province)
    mentions = matcher.find(document_text(doc))
    if link_units(session, doc.id, mentions.unit_ids):
        session.flush()
    _rule_alerts(session, doc, facts_of(doc, mentions.unit_ids), out)
    if doc.story is not None:
        if factbank.has_refuted_facts(session):
            threshold = settings.fact_similarity_threshold
            try:
                match = factbank.match_document(
                    session, doc, embedder=embedder, threshold=threshold
                )
            except Exception:
                # The encoder failing must not cost the rule and hot alerts of this document.
                log.exception("fact bank matching failed for document %s", doc.id)
                match = None
            if match is not None:
                upsert_misinfo(session, doc.story, doc, match, threshold, out)
        upsert_hot(session, doc.story, doc, matcher, out)
    session.commit()
    return out


def request_notifications(alert_ids: list[int]) -> None:
    """Queue notify_alert once per created or escalated alert (after the commit)."""
    # By name, as the pipeline does: the notifiers are another package's business.
    from crawlers.pipeline import send_task_safely

    for alert_id in dict.fromkeys(alert_ids):
        send_task_safely("notify_alert", args=[alert_id])


def evaluate_rules(session: Session, doc_id: str) -> list[Alert]:
    """Evaluate one document and return the alerts it touched (kept for callers and tests)."""
    return evaluate(session, doc_id).touched


@app.task(name="evaluate_document")
def evaluate_document(doc_id: str) -> int:
    """Evaluate alerts for one new or changed document; safe to run twice."""
    with session_scope() as session:
        out = evaluate(session, doc_id)
    request_notifications(out.notify)
    return len(out.touched)


@app.task(name="detect_spikes")
def detect_spikes() -> int:
    """Flag topic, unit and rule volume spikes (the beat runs this; idempotent per day)."""
    settings = get_settings()
    with session_scope() as session:
        alerts = detect(
            session,
            utcnow(),
            tz=ZoneInfo(settings.timezone),
            calendar=settings.school_calendar or DEFAULT_CALENDAR,
        )
        session.commit()
        ids = [a.id for a in alerts]
    request_notifications(ids)
    return len(ids)
