"""Coverage figures over the database for the monthly report, and the dashboard's open cases.

Documents are read once per period as narrow rows (date, source, newest labels, units) and
counted in Python: a month of a province's coverage is thousands of rows, and one pass
serves every breakdown with the same definition of "newest classification"."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.reporting.relevance import is_relevant, newest_classification
from core.models import Alert, AlertStatus, Classification, Document, DocumentUnit, Source, Unit

OPEN_STATUSES = (AlertStatus.new.value, AlertStatus.acknowledged.value, AlertStatus.assigned.value)
AGE_BUCKETS = (("< 1 ngày", 1), ("1–3 ngày", 3), ("3–7 ngày", 7), ("> 7 ngày", None))


@dataclass(slots=True)
class DocRow:
    """One document as the figures see it."""

    id: str
    published_at: datetime
    source_id: int
    source_name: str
    topics: list[str]
    sentiment: str | None
    risk: str | None
    units: list[int] = field(default_factory=list)


def positive_by_unit(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    unit_id: int | None = None,
    min_relevance: float | None = None,
) -> dict[int, int]:
    """Unit id -> documents in [start, end) naming it whose newest sentiment is tich_cuc
    (only education items at `min_relevance` when given: alerts.reporting.relevance)."""
    # Starts from document_units (a small share of documents), not from every document.
    stmt = (
        select(DocumentUnit.unit_id, func.count(func.distinct(Document.id)))
        .join(Document, Document.id == DocumentUnit.document_id)
        .join(Classification, Classification.id == newest_classification())
        .where(
            Document.published_at >= start,
            Document.published_at < end,
            Classification.sentiment == "tich_cuc",
        )
        .group_by(DocumentUnit.unit_id)
    )
    if unit_id is not None:
        stmt = stmt.where(DocumentUnit.unit_id == unit_id)
    if min_relevance is not None:
        stmt = stmt.where(is_relevant(min_relevance))
    return {uid: n for uid, n in session.execute(stmt).tuples()}


def load_documents(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    unit_id: int | None = None,
    min_relevance: float | None = None,
) -> list[DocRow]:
    """Documents published in [start, end) with their newest labels (and only `unit_id`'s;
    only education items at `min_relevance` when given: alerts.reporting.relevance)."""
    newest = newest_classification()
    stmt = (
        select(
            Document.id,
            Document.published_at,
            Document.source_id,
            Source.name,
            Classification.topics,
            Classification.sentiment,
            Classification.risk,
        )
        .join(Source, Source.id == Document.source_id)
        .outerjoin(Classification, Classification.id == newest)
        .where(Document.published_at >= start, Document.published_at < end)
    )
    if unit_id is not None:
        stmt = stmt.where(
            Document.id.in_(select(DocumentUnit.document_id).where(DocumentUnit.unit_id == unit_id))
        )
    if min_relevance is not None:
        stmt = stmt.where(is_relevant(min_relevance))
    rows = {
        r[0]: DocRow(r[0], r[1], r[2], r[3], list(r[4] or []), r[5], r[6])
        for r in session.execute(stmt)
    }
    units = select(DocumentUnit.document_id, DocumentUnit.unit_id).join(
        Document, Document.id == DocumentUnit.document_id
    )
    units = units.where(Document.published_at >= start, Document.published_at < end)
    for doc_id, uid in session.execute(units):
        if doc_id in rows:
            rows[doc_id].units.append(uid)
    return sorted(rows.values(), key=lambda d: d.published_at)


def count_by(docs: list[DocRow], what: str, limit: int | None = None) -> list[tuple[str, int]]:
    """Counts by topic, sentiment, risk or source name, largest first."""
    counter: Counter[str] = Counter()
    for d in docs:
        if what == "topic":
            counter.update(d.topics)
        elif what == "source":
            counter[d.source_name] += 1
        else:
            value = getattr(d, what)
            counter[value or "chua_phan_loai"] += 1
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def count_by_unit(
    session: Session, docs: list[DocRow], *, sentiment: str | None = None
) -> list[tuple[int, str, int]]:
    """(unit id, unit name, documents naming it), largest first."""
    counter: Counter[int] = Counter()
    for d in docs:
        if sentiment is None or d.sentiment == sentiment:
            counter.update(set(d.units))
    rows = session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(list(counter))))
    names: dict[int, str] = {uid: name for uid, name in rows}
    return sorted(
        ((uid, names.get(uid, f"#{uid}"), n) for uid, n in counter.items()),
        key=lambda t: (-t[2], t[1]),
    )


def open_cases_by_age(
    session: Session, now: datetime, *, unit_id: int | None = None
) -> list[dict[str, object]]:
    """Open cases (new, acknowledged, assigned) bucketed by age, with counts per severity."""
    stmt = select(Alert.created_at, Alert.severity).where(Alert.status.in_(OPEN_STATUSES))
    if unit_id is not None:
        stmt = stmt.where(Alert.unit_id == unit_id)
    buckets = {label: Counter[str]() for label, _ in AGE_BUCKETS}
    for created_at, severity in session.execute(stmt):
        age_days = (now - created_at).total_seconds() / 86400
        for label, limit in AGE_BUCKETS:
            if limit is None or age_days < limit:
                buckets[label][severity] += 1
                break
    return [
        {"age": label, "total": sum(c.values()), "by_severity": dict(c)}
        for label, c in buckets.items()
    ]


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (linear interpolation), None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float | None:
    """The median, None for no values."""
    return statistics.median(values) if values else None
