"""Reading cases for the API and the pages: who may see which, filters, keyset pagination."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from fastapi import HTTPException
from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from alerts.cases.explain import explain, is_below_threshold
from alerts.cases.lifecycle import is_overdue, story_documents
from api.case_rows import row_facts
from api.case_schemas import (
    CaseDetail,
    CaseSummary,
    DocumentRef,
    EventOut,
    FactorOut,
    FactRef,
    StatusCounts,
    UserRef,
)
from api.deps import MAX_ROW_ID, Principal
from core.models import (
    Alert,
    AlertStatus,
    Classification,
    Document,
    DocumentUnit,
    Fact,
    Role,
    Rule,
    Source,
    Unit,
    User,
)
from core.taxonomy import KIND_NAMES, SEVERITIES, SEVERITY_NAMES, STATUS_NAMES, TOPICS


def rank_of(a: Any = Alert) -> Any:
    """0 (critical) .. 3 (low) as SQL, over Alert or an alias of it."""
    return case(
        (a.severity == "critical", 0),
        (a.severity == "high", 1),
        (a.severity == "medium", 2),
        (a.severity == "low", 3),
        else_=4,
    )


SEVERITY_RANK = rank_of(Alert)
# Most severe first: the inbox lists its severity filter in this order.
SEVERITY_LABELS = {s: SEVERITY_NAMES[s] for s in reversed(SEVERITIES)}
BAD_CURSOR = "Con trỏ phân trang (cursor) không hợp lệ; hãy tải lại danh sách từ đầu."


@dataclass(slots=True)
class CaseFilters:
    """What the inbox filters on; empty lists mean "any"."""

    status: list[str] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    topic: str | None = None
    unit: int | None = None
    kind: str | None = None
    mine: bool = False


def _unit_clause(unit_id: int, a: Any = Alert) -> Any:
    in_story = exists(
        select(DocumentUnit.document_id)
        .join(Document, Document.id == DocumentUnit.document_id)
        .where(DocumentUnit.unit_id == unit_id, Document.story_id == a.story_id)
    )
    return or_(a.unit_id == unit_id, and_(a.story_id.is_not(None), in_story))


def visible(stmt: Select[Any], principal: Principal, a: Any = Alert) -> Select[Any]:
    """Restrict to what the caller may see: a unit focal point sees only its unit's cases."""
    if principal.role == Role.unit_focal.value:
        if principal.unit_id is None:
            return stmt.where(False)  # a focal point without a unit sees nothing
        return stmt.where(_unit_clause(principal.unit_id, a))
    return stmt


def story_leads(stmt: Select[Any], f: CaseFilters, principal: Principal) -> Select[Any]:
    """Keep one case per story, the first in inbox order among the story's cases under the
    same filters: one story is one inbox row (its other cases are reasons on that row)."""
    b = aliased(Alert)
    before = or_(
        rank_of(b) < SEVERITY_RANK,
        and_(
            rank_of(b) == SEVERITY_RANK,
            or_(
                b.created_at > Alert.created_at,
                and_(b.created_at == Alert.created_at, b.id > Alert.id),
            ),
        ),
    )
    sibling = apply_filters(select(b.id), f, principal, a=b).where(
        b.story_id == Alert.story_id, b.id != Alert.id, before
    )
    # Most stories have one case: only those with several need the correlated look-up.
    c = aliased(Alert)
    shared = select(c.story_id).where(c.story_id.is_not(None)).group_by(c.story_id)
    shared = shared.having(func.count() > 1)
    return stmt.where(
        or_(Alert.story_id.is_(None), Alert.story_id.not_in(shared), ~exists(sibling))
    )


# Story rows are counted once: a case with no story counts as its own row.
ROW_KEY = func.coalesce(Alert.story_id, -Alert.id)


def apply_filters(
    stmt: Select[Any],
    f: CaseFilters,
    principal: Principal,
    *,
    with_status: bool = True,
    a: Any = Alert,
) -> Select[Any]:
    """Add the inbox filters to a statement over Alert (or `a`, an alias of it)."""
    bad = [s for s in f.status if s not in STATUS_NAMES]
    if bad:
        raise HTTPException(400, f"Trạng thái không hợp lệ: {', '.join(bad)}.")
    bad = [s for s in f.severity if s not in ("critical", "high", "medium", "low")]
    if bad:
        raise HTTPException(400, f"Mức độ không hợp lệ: {', '.join(bad)}.")
    if with_status and f.status:
        stmt = stmt.where(a.status.in_(f.status))
    if f.severity:
        stmt = stmt.where(a.severity.in_(f.severity))
    if f.kind:
        stmt = stmt.where(a.kind == f.kind)
    if f.mine:
        stmt = stmt.where(a.assignee_id == principal.user_id)
    if f.unit is not None:
        stmt = stmt.where(_unit_clause(f.unit, a))
    if f.topic:
        if f.topic not in TOPICS:
            raise HTTPException(400, f"Chủ đề không hợp lệ: {f.topic}.")
        # Topic codes are plain identifiers (checked above), so a LIKE on the JSON text is
        # exact on SQLite and PostgreSQL alike.
        has_topic = exists(
            select(Classification.id)
            .join(Document, Document.id == Classification.document_id)
            .where(
                Document.story_id == a.story_id,
                cast(Classification.topics, String).like(f'%"{f.topic}"%'),
            )
        )
        stmt = stmt.where(has_topic)
    return visible(stmt, principal, a)


def encode_cursor(alert: Alert) -> str:
    """An opaque cursor after `alert` in inbox order."""
    raw = json.dumps([_rank(alert.severity), alert.created_at.isoformat(), alert.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _rank(severity: str) -> int:
    return {"critical": 0, "high": 1, "medium": 2, "low": 3}.get(severity, 4)


def _decode_cursor(cursor: str) -> tuple[int, datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        rank, at, alert_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if not isinstance(rank, int) or not isinstance(alert_id, int) or when.tzinfo is None:
            raise ValueError
        if not (abs(rank) <= MAX_ROW_ID and 0 <= alert_id <= MAX_ROW_ID):
            raise ValueError  # a forged number too large for the database's integers
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(400, BAD_CURSOR) from None
    return rank, when, alert_id


def list_cases(
    session: Session, principal: Principal, f: CaseFilters, *, cursor: str | None, limit: int
) -> tuple[list[Alert], str | None]:
    """One page of inbox rows (one per story), most severe first, then newest; and the
    cursor for the next."""
    stmt = story_leads(apply_filters(select(Alert), f, principal), f, principal)
    if cursor:
        rank, at, alert_id = _decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                rank < SEVERITY_RANK,
                and_(
                    rank == SEVERITY_RANK,
                    or_(Alert.created_at < at, and_(Alert.created_at == at, Alert.id < alert_id)),
                ),
            )
        )
    stmt = stmt.order_by(SEVERITY_RANK, Alert.created_at.desc(), Alert.id.desc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def status_counts(session: Session, principal: Principal, f: CaseFilters) -> StatusCounts:
    """Inbox rows (stories) per status under the filters (the status filter itself ignored)."""
    stmt = apply_filters(
        select(Alert.status, func.count(func.distinct(ROW_KEY))).group_by(Alert.status),
        f,
        principal,
        with_status=False,
    )
    counts = {s: n for s, n in session.execute(stmt) if s in STATUS_NAMES}
    return StatusCounts(**counts)


def get_visible(session: Session, principal: Principal, alert_id: int) -> Alert:
    """One case the caller may see; 404 otherwise (no hint that it exists)."""
    alert = session.scalar(visible(select(Alert).where(Alert.id == alert_id), principal))
    if alert is None:
        raise HTTPException(404, f"Không tìm thấy cảnh báo #{alert_id}.")
    return alert


def document_visible(session: Session, principal: Principal, doc_id: str) -> bool:
    """Whether the caller may read a document: a unit focal point only its unit's."""
    if principal.unit_scope is None:
        return True
    stmt = select(DocumentUnit.document_id).where(
        DocumentUnit.document_id == doc_id, DocumentUnit.unit_id == principal.unit_scope
    )
    return session.scalar(stmt) is not None


def _names(session: Session, ids: set[int | None]) -> dict[int, UserRef]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: UserRef(id=u.id, name=u.full_name or u.username) for u in rows}


def summaries(
    session: Session, alerts: list[Alert], principal: Principal | None = None
) -> list[CaseSummary]:
    """Inbox rows for alerts: assignee names, story sizes and the story's columns (outlets,
    scope, sentiment, spread, unit, its other cases) read for all rows together."""
    names = _names(session, {a.assignee_id for a in alerts})
    story_ids = {a.story_id for a in alerts if a.story_id is not None}
    sizes: dict[int, int] = {}
    if story_ids:
        stmt = (
            select(Document.story_id, func.count())
            .where(Document.story_id.in_(story_ids))
            .group_by(Document.story_id)
        )
        sizes = {sid: n for sid, n in session.execute(stmt)}
    facts = row_facts(
        session,
        alerts,
        siblings_visible=(lambda stmt: visible(stmt, principal)) if principal else None,
        unit_scope=principal.unit_scope if principal else None,
    )
    return [
        CaseSummary(
            id=a.id,
            kind=a.kind,
            kind_label=KIND_NAMES.get(a.kind, a.kind),
            title=a.title,
            severity=a.severity,
            severity_label=SEVERITY_NAMES.get(a.severity, a.severity),
            below_threshold=is_below_threshold(a.kind, a.score),
            status=a.status,
            status_label=STATUS_NAMES.get(a.status, a.status),
            score=a.score,
            story_id=a.story_id,
            unit_id=a.unit_id,
            assignee=names.get(a.assignee_id) if a.assignee_id else None,
            doc_count=sizes.get(a.story_id, 0)
            if a.story_id
            else len((a.details or {}).get("documents", [])),
            created_at=a.created_at,
            updated_at=a.updated_at,
            due_at=a.due_at,
            is_overdue=is_overdue(a),
            **asdict(facts[a.id]),
        )
        for a in alerts
    ]


def detail(session: Session, alert: Alert, principal: Principal) -> CaseDetail:
    """Everything the case page shows: timeline, why flagged, history."""
    docs = story_documents(session, alert)
    scope = principal.unit_scope
    if scope is not None:
        # A focal point sees a case that touches its unit, but of the story's documents
        # only its unit's: the others' titles and URLs are not theirs to read.
        mine = set(
            session.scalars(
                select(DocumentUnit.document_id).where(
                    DocumentUnit.unit_id == scope,
                    DocumentUnit.document_id.in_([d.id for d in docs]),
                )
            )
        )
        docs = [d for d in docs if d.id in mine]
    details = dict(alert.details or {})
    if scope is not None and "documents" in details:
        details["documents"] = [d.id for d in docs]
    outlets = {
        s.id: s.name
        for s in session.scalars(select(Source).where(Source.id.in_({d.source_id for d in docs})))
    }
    names = _names(session, {e.actor_id for e in alert.events})
    rule = session.get(Rule, alert.rule_id) if alert.rule_id else None
    fact = session.get(Fact, alert.fact_id) if alert.fact_id else None
    base = summaries(session, [alert], principal)[0]
    unit_ids = [u for u in details.get("unit_ids", []) if isinstance(u, int)]
    unit_names = (
        list(session.scalars(select(Unit.name).where(Unit.id.in_(unit_ids)))) if unit_ids else []
    )
    why = explain(
        alert.kind,
        {k: v for k, v in details.items() if k != "documents" or alert.kind == "hot"},
        score=alert.score,
        rule_name=rule.name if rule else None,
        unit_names=unit_names,
        doc_count=base.doc_count,
    )
    return CaseDetail(
        **base.model_dump(),
        why=why.sentence,
        factors=[FactorOut(name=f.name, value=f.value, percent=f.percent) for f in why.factors],
        technical=why.technical,
        rule={"id": rule.id, "name": rule.name, "query": rule.query} if rule else None,
        fact=FactRef(
            id=fact.id, kind=fact.kind, statement=fact.statement, correction=fact.correction
        )
        if fact
        else None,
        details=details,
        response=alert.response,
        dismiss_reason=alert.dismiss_reason,
        acknowledged_at=alert.acknowledged_at,
        responded_at=alert.responded_at,
        closed_at=alert.closed_at,
        documents=[_doc_ref(d, outlets) for d in docs],
        events=[
            EventOut(
                id=e.id,
                at=e.at,
                kind=e.kind,
                actor=names.get(e.actor_id) if e.actor_id else None,
                from_status=e.from_status,
                to_status=e.to_status,
                note=e.note,
                data=e.data or {},
            )
            for e in alert.events
        ],
    )


def _doc_ref(d: Document, outlets: dict[int, str]) -> DocumentRef:
    cls = d.classification
    return DocumentRef(
        id=d.id,
        title=d.title,
        url=d.url,
        outlet=outlets.get(d.source_id, ""),
        published_at=d.published_at,
        fetched_at=d.fetched_at,
        reach=(d.likes or 0) + (d.shares or 0) + (d.comments or 0),
        risk=cls.risk if cls else None,
        relevance=cls.relevance if cls else None,
        topics=list(cls.topics) if cls else [],
    )


def assignable_users(session: Session) -> list[User]:
    """Users a case can be given to (active, not read-only leadership)."""
    stmt = (
        select(User)
        .where(User.active.is_(True), User.role != Role.leadership.value)
        .order_by(User.full_name, User.username)
    )
    return list(session.scalars(stmt))


ALL_STATUSES = [s.value for s in AlertStatus]
