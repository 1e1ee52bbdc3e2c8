"""Evaluating new documents: link their units, apply the rules, match the fact bank and
score their stories, a chunk of documents per transaction. Idempotent: evaluating a document
twice changes nothing."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session, joinedload, selectinload

from alerts.cases.lifecycle import set_deadline
from alerts.detection import factbank
from alerts.detection.rules import CompiledRule, DocumentFacts, compiled_rules, matching_rules
from alerts.detection.story_alerts import (
    Outcome,
    remember_province,
    stories_signals,
    upsert_hot_many,
    upsert_misinfo,
)
from alerts.units.matcher import get_matcher
from core.db import lock_for_write
from core.geo.choice import province_name
from core.models import Alert, AlertEvent, Document, DocumentUnit, utcnow
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)


# Namespace of the advisory locks below (pg_advisory_xact_lock's first key).
STORY_LOCK_CLASS = 7001


def lock_story(session: Session, story_id: int | None) -> None:
    """Serialise alert evaluation per story until the transaction ends.

    Two workers evaluating documents of one story at once would each find no alert and
    open two. On SQLite the one write lock, taken before the story's alerts are read
    (transactions otherwise take it at their first write), does it."""
    if story_id is None:
        return
    if session.get_bind().dialect.name == "sqlite":
        lock_for_write(session)
    elif session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:cls, :story)"),
            {"cls": STORY_LOCK_CLASS, "story": story_id},
        )


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
        scope=doc.source.scope if doc.source is not None else None,
        units=unit_ids if unit_ids is not None else [u.id for u in doc.units],
        places=[p.code for p in doc.places],
        reach=(doc.likes or 0) + (doc.shares or 0) + (doc.comments or 0),
    )


def _load(session: Session, doc_ids: Sequence[str]) -> list[Document]:
    found = {
        d.id: d
        for d in session.scalars(
            select(Document)
            .where(Document.id.in_(doc_ids))
            .options(
                selectinload(Document.classifications),
                selectinload(Document.places),  # a rule filter
                joinedload(Document.story),
                joinedload(Document.source),  # its scope is a rule filter
            )
        )
    }
    return [found[i] for i in dict.fromkeys(doc_ids) if i in found]


def _link_all(session: Session, docs: list[Document], mentions: dict[str, list[int]]) -> None:
    """Make document_units hold exactly the units each document names (one read for all)."""
    have: dict[str, set[int]] = defaultdict(set)
    for doc_id, unit_id in session.execute(
        select(DocumentUnit.document_id, DocumentUnit.unit_id).where(
            DocumentUnit.document_id.in_([d.id for d in docs])
        )
    ):
        have[doc_id].add(unit_id)
    stale = [(d.id, u) for d in docs for u in have[d.id] - set(mentions[d.id])]
    for doc_id, unit_id in stale:
        session.execute(
            delete(DocumentUnit).where(
                DocumentUnit.document_id == doc_id, DocumentUnit.unit_id == unit_id
            )
        )
    session.add_all(
        DocumentUnit(document_id=d.id, unit_id=u)
        for d in docs
        for u in sorted(set(mentions[d.id]) - have[d.id])
    )
    # The index keeps each document's unit ids (the unit filter, focal points' scope): a
    # changed link re-indexes the document, as new labels do (crawlers.tasks).
    # An UPDATE, not attribute sets: a loaded object may hold a stale indexed_at of None.
    changed = [d.id for d in docs if set(mentions[d.id]) != have[d.id]]
    if changed:
        session.execute(
            update(Document)
            .where(Document.id.in_(changed))
            .values(indexed_at=None, updated_at=utcnow())
        )


def _rule_alerts(
    session: Session, matched: list[tuple[Document, DocumentFacts, list[CompiledRule]]],
    out: Outcome,
) -> None:  # fmt: skip
    """Open or grow one alert per (rule, story) that each document matches."""
    rule_ids = {r.id for _, _, rules in matched for r in rules}
    story_ids = {d.story_id for d, _, rules in matched if rules}
    if not rule_ids:
        return
    # One query for the stories' existing rule alerts, not one per matching rule.
    stmt = select(Alert).where(Alert.kind == "rule", Alert.rule_id.in_(rule_ids))
    if None in story_ids:
        stmt = stmt.where(or_(Alert.story_id.in_(story_ids - {None}), Alert.story_id.is_(None)))
    else:
        stmt = stmt.where(Alert.story_id.in_(story_ids))
    existing = {(a.rule_id, a.story_id): a for a in session.scalars(stmt)}
    for doc, facts, rules in matched:
        for rule in rules:
            alert = existing.get((rule.id, doc.story_id))
            if alert is None:
                alert = Alert(
                    kind="rule", rule_id=rule.id, story_id=doc.story_id,
                    unit_id=facts.units[0] if facts.units else None,
                    title=doc.story.title if doc.story else doc.title,
                    severity=rule.severity or "medium", details={"documents": []},
                    created_at=utcnow(),
                )  # fmt: skip
                set_deadline(alert, get_settings().alerts.response_deadlines_h)
                session.add(alert)
                session.flush()
                existing[(rule.id, doc.story_id)] = alert
                session.add(AlertEvent(alert_id=alert.id, kind="created", data={"rule": rule.name}))
                out.notify.append(alert.id)
            documents = list(alert.details.get("documents", []))
            if doc.id in documents:
                continue  # the same document evaluated twice changes nothing
            alert.details = {**alert.details, "documents": [*documents, doc.id]}
            alert.updated_at = utcnow()
            event = AlertEvent(alert_id=alert.id, kind="document_added", data={"document": doc.id})
            session.add(event)
            out.touched.append(alert)


def _fact_match(
    session: Session, doc: Document, settings: Settings, embedder: factbank.Embedder | None
) -> factbank.FactMatch | None:
    if doc.story is None:
        return None  # misinfo cases are per story
    try:
        return factbank.match_document(
            session, doc, embedder=embedder, threshold=settings.alerts.fact_similarity_threshold
        )
    except Exception:
        # The encoder failing must not cost the rule and hot alerts of this document.
        log.exception("fact bank matching failed for document %s", doc.id)
        return None


# Documents evaluated per transaction: a crawl's or a relabel's whole batch in one held the
# write lock for seconds (issue 15); each chunk's stories are still scored once.
EVALUATE_CHUNK = 32


def evaluate_many(
    session: Session,
    doc_ids: Sequence[str],
    *,
    settings: Settings | None = None,
    embedder: factbank.Embedder | None = None,
) -> Outcome:
    """Link units, apply rules, match the fact bank and score the stories of these
    documents, EVALUATE_CHUNK documents per transaction; commits, and returns the alerts
    to notify."""
    settings = settings or get_settings()
    out = Outcome()
    ids = list(dict.fromkeys(doc_ids))
    for start in range(0, len(ids), EVALUATE_CHUNK):
        _evaluate_chunk(session, ids[start : start + EVALUATE_CHUNK], settings, embedder, out)
    return out


def _evaluate_chunk(
    session: Session, doc_ids: Sequence[str], settings: Settings,
    embedder: factbank.Embedder | None, out: Outcome,
) -> None:  # fmt: skip
    docs = _load(session, doc_ids)
    if not docs:
        session.commit()
        return
    # The province chosen at run time (app_settings) wins over DIEMTIN_PROVINCE.
    matcher = get_matcher(session, province_name(session, settings.province))
    rules = compiled_rules(session)
    # Reading and CPU work first, outside the write lock: unit matching, the encoder pass of
    # fact matching, and the province scan that story scoring caches.
    mentions: dict[str, list[int]] = {}
    for doc in docs:
        found = matcher.find(document_text(doc))
        mentions[doc.id] = found.unit_ids
        remember_province(doc.id, doc.content_hash, matcher, found.names_province)
    fact_matches = {}
    if factbank.has_refuted_facts(session):
        fact_matches = {doc.id: _fact_match(session, doc, settings, embedder) for doc in docs}
    story_ids = sorted({d.story_id for d in docs if d.story_id is not None})
    signals = stories_signals(session, story_ids, matcher)
    # These documents' unit links are about to become exactly what was just found.
    for story_signals in signals.values():
        for i, sig in enumerate(story_signals):
            if sig.doc_id in mentions:
                story_signals[i] = replace(sig, unit_ids=sorted(set(mentions[sig.doc_id])))
    # Then the story locks (in id order, so two batches sharing stories cannot deadlock):
    # the stories' alerts are read and written under them.
    for story_id in story_ids:
        lock_story(session, story_id)
    _link_all(session, docs, mentions)
    session.flush()
    matched = []
    for doc in docs:
        facts = facts_of(doc, mentions[doc.id])
        matched.append((doc, facts, matching_rules(rules, facts)))
    _rule_alerts(session, matched, out)
    for doc in docs:
        match = fact_matches.get(doc.id)
        if match is not None and doc.story is not None:
            upsert_misinfo(
                session, doc.story, doc, match, settings.alerts.fact_similarity_threshold, out
            )
    # A story is scored once per chunk, after all its new documents are in.
    upsert_hot_many(session, docs, matcher, out, signals)
    session.commit()


def evaluate(
    session: Session,
    doc_id: str,
    *,
    settings: Settings | None = None,
    embedder: factbank.Embedder | None = None,
) -> Outcome:
    """evaluate_many for one document."""
    return evaluate_many(session, [doc_id], settings=settings, embedder=embedder)


def mark_evaluated(session: Session, doc_ids: Sequence[str]) -> None:
    """Record that evaluation committed for these documents: the sweep (crawlers.sweep)
    queues documents never evaluated. After the evaluation's commit, so a crash between the
    two costs one redundant (idempotent) evaluation, never a missed one."""
    if doc_ids:
        session.execute(
            update(Document)
            .where(Document.id.in_(list(dict.fromkeys(doc_ids))))
            .values(evaluated_at=utcnow())
        )
