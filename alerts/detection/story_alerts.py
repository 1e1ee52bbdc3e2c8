"""One "hot" and one "misinfo" alert per story: created on first crossing, grown, escalated.

A hot case's severity is always the band of its current score (scoring.band), on every page:
it follows the score down as well (a relabel), recorded as a "rescored" event, without a
notification, and the case stays open (a press officer closes or dismisses it; under the
threshold the pages say "điểm đã giảm dưới ngưỡng"). Only a severity above the highest the
case ever reached (details.peak_severity) escalates: it raises Alert.escalation_level, records
an "escalated" event, reopens an answered case, and the caller queues notify_alert for every
alert returned as `notify`. A dismissed case keeps the severity it was dismissed at."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts.cases.lifecycle import reopen_for_escalation, set_deadline
from alerts.detection.factbank import FactMatch
from alerts.detection.scoring import (
    ALERT_THRESHOLD,
    DocSignal,
    StoryScore,
    reasons,
    score_story,
)
from alerts.units.matcher import UnitMatcher
from core.geo.choice import province_code
from core.geo.profile import neighbours
from core.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    Classification,
    Document,
    DocumentPlace,
    DocumentUnit,
    Source,
    Story,
    utcnow,
)
from core.settings import get_settings
from core.taxonomy import SEVERITIES, severity_rank

# A viral story can gather thousands of copies; its newest ones carry the signal.
MAX_STORY_DOCS = 300
# Similarity this far above the threshold is a near-verbatim repeat of the claim.
STRONG_MATCH_MARGIN = 0.03


@dataclass
class Outcome:
    """What one evaluation changed: alerts to notify (created or escalated)."""

    notify: list[int] = field(default_factory=list)
    touched: list[Alert] = field(default_factory=list)


# (doc id, content hash, matcher) -> names the province; the text only changes with the hash.
_province_memo: dict[tuple[str, str, int], bool] = {}


def remember_province(doc_id: str, content_hash: str, matcher: UnitMatcher, named: bool) -> None:
    """Record what the evaluation of a document found, so story scoring need not re-read it."""
    if len(_province_memo) > 200_000:
        _province_memo.clear()
    _province_memo[(doc_id, content_hash, id(matcher))] = named


def story_signals(session: Session, story_id: int, matcher: UnitMatcher) -> list[DocSignal]:
    """The scoring inputs of one story's documents."""
    return stories_signals(session, [story_id], matcher)[story_id]


def stories_signals(
    session: Session, story_ids: list[int], matcher: UnitMatcher
) -> dict[int, list[DocSignal]]:
    """The scoring inputs of each story's (newest MAX_STORY_DOCS) documents, read as columns
    in three queries for all the stories together."""
    everything = session.execute(
        select(
            Document.id, Document.published_at, Document.fetched_at, Document.source_id,
            Document.likes, Document.shares, Document.comments, Document.content_hash,
            Document.story_id, Source.scope,
        )
        .join(Source, Source.id == Document.source_id)
        .where(Document.story_id.in_(story_ids))
    ).all()  # fmt: skip
    by_story: dict[int, list[Any]] = defaultdict(list)
    for r in everything:
        by_story[r.story_id].append(r)
    rows = []
    for sid in story_ids:
        newest = sorted(by_story[sid], key=lambda r: r.published_at or r.fetched_at, reverse=True)
        by_story[sid] = newest[:MAX_STORY_DOCS]
        rows.extend(by_story[sid])
    ids = [r.id for r in rows]
    labels: dict[str, Any] = {}
    for c in session.execute(
        select(
            Classification.document_id, Classification.id, Classification.risk,
            Classification.risk_score, Classification.sentiment, Classification.toxicity,
            Classification.misinformation, Classification.topics,
        ).where(Classification.document_id.in_(ids))
    ):  # fmt: skip
        if c.document_id not in labels or labels[c.document_id].id < c.id:
            labels[c.document_id] = c  # the newest classification
    units: dict[str, list[int]] = defaultdict(list)
    for doc_id, unit_id in session.execute(
        select(DocumentUnit.document_id, DocumentUnit.unit_id).where(
            DocumentUnit.document_id.in_(ids)
        )
    ):
        units[doc_id].append(unit_id)
    provinces: dict[str, set[str]] = defaultdict(set)
    for doc_id, code in session.execute(
        select(DocumentPlace.document_id, DocumentPlace.code).where(
            DocumentPlace.document_id.in_(ids), DocumentPlace.kind == "province"
        )
    ):
        provinces[doc_id].add(code)
    own = province_code(session, get_settings().province)
    near = set(neighbours(own)) if own else set()
    missing = [r.id for r in rows if (r.id, r.content_hash, id(matcher)) not in _province_memo]
    if missing:
        hashes = {r.id: r.content_hash for r in rows}
        for doc_id, title, lead, body in session.execute(
            select(Document.id, Document.title, Document.lead, Document.body).where(
                Document.id.in_(missing)
            )
        ):
            named = matcher.find(f"{title}\n{lead}\n{body}").names_province
            remember_province(doc_id, hashes[doc_id], matcher, named)
    out: dict[int, list[DocSignal]] = {sid: [] for sid in story_ids}
    for r in rows:
        lab = labels.get(r.id)
        out[r.story_id].append(
            DocSignal(
                doc_id=r.id, at=r.published_at or r.fetched_at, source_id=r.source_id,
                scope=r.scope or "national",
                risk=lab.risk if lab else "binh_thuong", risk_score=lab.risk_score if lab else 0.0,
                sentiment=lab.sentiment if lab else "trung_tinh",
                toxicity=lab.toxicity if lab else 0.0,
                misinformation=lab.misinformation if lab else 0.0,
                topics=list(lab.topics or []) if lab else [],
                reach=(r.likes or 0) + (r.shares or 0) + (r.comments or 0),
                unit_ids=sorted(units.get(r.id, [])),
                names_province=_province_memo.get((r.id, r.content_hash, id(matcher)), False)
                or own in provinces[r.id],
                near_province=bool(near & provinces[r.id]),
            )
        )  # fmt: skip
    return out


def _main_unit(signals: Sequence[DocSignal]) -> int | None:
    counts = Counter(u for s in signals for u in s.unit_ids)
    return min(counts, key=lambda u: (-counts[u], u)) if counts else None


def _find(session: Session, kind: str, story_id: int) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.kind == kind, Alert.story_id == story_id))


def _open(session: Session, alert: Alert, data: dict[str, Any], out: Outcome) -> tuple[Alert, bool]:
    """Insert a story alert (True), or find the one a concurrent worker inserted first
    (False): a story has one alert of each kind (a unique index)."""
    kind, story_id = alert.kind, alert.story_id
    assert story_id is not None
    alert.created_at = alert.created_at or utcnow()
    set_deadline(alert, get_settings().alerts.response_deadlines_h)
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        found = _find(session, kind, story_id)
        assert found is not None
        return found, False
    session.add(AlertEvent(alert_id=alert.id, kind="created", data=data))
    out.notify.append(alert.id)
    out.touched.append(alert)
    return alert, True


def _escalate(session: Session, alert: Alert, severity: str, data: dict[str, Any]) -> bool:
    """Raise the severity (never lower it); True when it went up. A dismissed case is left
    as the press office decided; an answered or closed one is reopened."""
    if (
        severity_rank(severity) <= severity_rank(alert.severity)
        or alert.status == AlertStatus.dismissed.value
    ):
        return False
    session.add(
        AlertEvent(
            alert_id=alert.id,
            kind="escalated",
            data={"from": alert.severity, "to": severity, "level": alert.escalation_level + 1}
            | data,
        )
    )
    alert.severity = severity
    alert.escalation_level += 1
    if not reopen_for_escalation(session, alert, severity):
        # A graver case is due sooner (counted from when it opened).
        set_deadline(alert, get_settings().alerts.response_deadlines_h)
    return True


def _follow_score(session: Session, alert: Alert, severity: str, score: float) -> bool:
    """Set a hot case's severity to its score's band; True when it escalated (went above
    the highest severity the case reached, so the office hears of it again)."""
    peak = str((alert.details or {}).get("peak_severity") or alert.severity)
    if severity_rank(severity) > severity_rank(peak):
        return _escalate(session, alert, severity, {"score": score})
    if severity == alert.severity or alert.status == AlertStatus.dismissed.value:
        return False
    # Back down (or up again within what was already notified): shown, not announced.
    data = {"from": alert.severity, "to": severity, "score": score}
    session.add(AlertEvent(alert_id=alert.id, kind="rescored", data=data))
    alert.severity = severity
    return False


def _peak(alert: Alert, severity: str) -> str:
    recorded = str((alert.details or {}).get("peak_severity") or alert.severity)
    return max(recorded, severity, alert.severity, key=severity_rank)


def _update(alert: Alert, **values: Any) -> bool:
    """Set only what differs, so evaluating twice leaves the row (and updated_at) alone."""
    changed = {k: v for k, v in values.items() if getattr(alert, k) != v}
    for k, v in changed.items():
        setattr(alert, k, v)
    if changed:
        alert.updated_at = utcnow()
    return bool(changed)


def upsert_hot_many(
    session: Session, docs: list[Document], matcher: UnitMatcher, out: Outcome,
    signals: dict[int, list[DocSignal]] | None = None,
) -> None:  # fmt: skip
    """upsert_hot for the story of each document (one per story), reading them together
    (`signals`: the stories' scoring inputs, when the caller read them before the lock)."""
    firsts = {d.story_id: d for d in reversed(docs) if d.story is not None}
    ids = [sid for sid in firsts if sid is not None]
    if not ids:
        return
    if signals is None or not set(ids) <= set(signals):
        signals = stories_signals(session, ids, matcher)
    alerts = {
        a.story_id: a
        for a in session.scalars(select(Alert).where(Alert.kind == "hot", Alert.story_id.in_(ids)))
    }
    for sid in ids:
        doc = firsts[sid]
        assert doc.story is not None
        upsert_hot(session, doc.story, doc, matcher, out, signals[sid], alerts.get(sid, False))


def upsert_hot(
    session: Session, story: Story, doc: Document, matcher: UnitMatcher, out: Outcome,
    signals: list[DocSignal] | None = None, known: Alert | None | bool = True,
) -> StoryScore:  # fmt: skip
    """Score the story; open, grow or escalate its one "hot" alert (`signals` and `known`,
    the alert or False for none, when the caller read them already)."""
    if signals is None:
        signals = story_signals(session, story.id, matcher)
    result = score_story(signals)
    details = result.details() | {"reasons": reasons(result)}
    alert = _find(session, "hot", story.id) if known is True else (known or None)
    if alert is None:
        if result.score < ALERT_THRESHOLD:
            return result
        fresh = Alert(
            kind="hot", story_id=story.id, title=story.title or doc.title,
            severity=result.severity, score=result.score, unit_id=_main_unit(signals),
            details=details | {"first_document": doc.id, "peak_severity": result.severity},
        )  # fmt: skip
        alert, new = _open(session, fresh, {"score": result.score, "document": doc.id}, out)
        if new:
            return result
    first = alert.details.get("first_document")
    escalated = _follow_score(session, alert, result.severity, result.score)
    changed = _update(
        alert, score=result.score, unit_id=alert.unit_id or _main_unit(signals),
        details=details | {"first_document": first, "peak_severity": _peak(alert, result.severity)},
    )  # fmt: skip
    if escalated:
        out.notify.append(alert.id)
    if escalated or changed:
        out.touched.append(alert)
    return result


def misinfo_severity(match: FactMatch, threshold: float, misinformation: float) -> str:
    """Medium for a match, high when near-verbatim; the classifier's misinformation score
    (>= 0.5) raises it one band more."""
    level = 2 if match.similarity >= threshold + STRONG_MATCH_MARGIN else 1
    if misinformation >= 0.5:
        level += 1
    return SEVERITIES[min(level, len(SEVERITIES) - 1)]


def upsert_misinfo(
    session: Session, story: Story, doc: Document, match: FactMatch, threshold: float,
    out: Outcome,
) -> Alert | None:  # fmt: skip
    """Open or grow the story's one "misinfo" alert for a refuted claim it repeats."""
    cls = doc.classification
    misinformation = cls.misinformation if cls else 0.0
    severity = misinfo_severity(match, threshold, misinformation)
    alert = _find(session, "misinfo", story.id)
    if alert is None:
        fresh = Alert(
            kind="misinfo", story_id=story.id, fact_id=match.fact_id, severity=severity,
            score=round(match.similarity, 4),
            title=f"Lặp lại thông tin đã được bác bỏ: {match.statement}"[:500],
            details=match.details() | {"documents": [doc.id], "misinformation": misinformation},
        )  # fmt: skip
        alert, new = _open(session, fresh, {"document": doc.id, "fact_id": match.fact_id}, out)
        if new:
            return alert
    documents = list(alert.details.get("documents", []))
    if doc.id in documents:
        return alert  # evaluated before: nothing new
    best = match if match.similarity > float(alert.details.get("similarity", 0)) else None
    details = dict(alert.details) | {
        "documents": [*documents, doc.id],
        "misinformation": max(misinformation, float(alert.details.get("misinformation", 0))),
    }
    if best is not None:
        details |= best.details()
    escalated = _escalate(session, alert, severity, {"document": doc.id})
    _update(
        alert, details=details, fact_id=int(details["fact_id"]),
        score=float(details["similarity"]),
    )  # fmt: skip
    session.add(AlertEvent(alert_id=alert.id, kind="document_added", data={"document": doc.id}))
    if escalated:
        out.notify.append(alert.id)
    out.touched.append(alert)
    return alert
