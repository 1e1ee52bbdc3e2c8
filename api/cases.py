"""Reading cases for the API and the pages: who may see which, filters, keyset pagination."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import HTTPException
from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from alerts.cases.lifecycle import is_overdue, story_documents
from api.case_schemas import (
    CaseDetail,
    CaseSummary,
    DocumentRef,
    EventOut,
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
    User,
)
from core.taxonomy import SEVERITIES, SEVERITY_NAMES, STATUS_NAMES, TOPICS

SEVERITY_RANK = case(
    (Alert.severity == "critical", 0),
    (Alert.severity == "high", 1),
    (Alert.severity == "medium", 2),
    (Alert.severity == "low", 3),
    else_=4,
)
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


def _unit_clause(unit_id: int) -> Any:
    in_story = exists(
        select(DocumentUnit.document_id)
        .join(Document, Document.id == DocumentUnit.document_id)
        .where(DocumentUnit.unit_id == unit_id, Document.story_id == Alert.story_id)
    )
    return or_(Alert.unit_id == unit_id, and_(Alert.story_id.is_not(None), in_story))


def visible(stmt: Select[Any], principal: Principal) -> Select[Any]:
    """Restrict to what the caller may see: a unit focal point sees only its unit's cases."""
    if principal.role == Role.unit_focal.value:
        if principal.unit_id is None:
            return stmt.where(False)  # a focal point without a unit sees nothing
        return stmt.where(_unit_clause(principal.unit_id))
    return stmt


def apply_filters(
    stmt: Select[Any], f: CaseFilters, principal: Principal, *, with_status: bool = True
) -> Select[Any]:
    """Add the inbox filters to a statement over Alert."""
    bad = [s for s in f.status if s not in STATUS_NAMES]
    if bad:
        raise HTTPException(400, f"Trạng thái không hợp lệ: {', '.join(bad)}.")
    bad = [s for s in f.severity if s not in ("critical", "high", "medium", "low")]
    if bad:
        raise HTTPException(400, f"Mức độ không hợp lệ: {', '.join(bad)}.")
    if with_status and f.status:
        stmt = stmt.where(Alert.status.in_(f.status))
    if f.severity:
        stmt = stmt.where(Alert.severity.in_(f.severity))
    if f.kind:
        stmt = stmt.where(Alert.kind == f.kind)
    if f.mine:
        stmt = stmt.where(Alert.assignee_id == principal.user_id)
    if f.unit is not None:
        stmt = stmt.where(_unit_clause(f.unit))
    if f.topic:
        if f.topic not in TOPICS:
            raise HTTPException(400, f"Chủ đề không hợp lệ: {f.topic}.")
        # Topic codes are plain identifiers (checked above), so a LIKE on the JSON text is
        # exact on SQLite and PostgreSQL alike.
        has_topic = exists(
            select(Classification.id)
            .join(Document, Document.id == Classification.document_id)
            .where(
                Document.story_id == Alert.story_id,
                cast(Classification.topics, String).like(f'%"{f.topic}"%'),
            )
        )
        stmt = stmt.where(has_topic)
    return visible(stmt, principal)


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
    """One page of cases, most severe first, then newest; and the cursor for the next."""
    stmt = apply_filters(select(Alert), f, principal)
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
    """Cases per status under the filters (the status filter itself ignored)."""
    stmt = apply_filters(
        select(Alert.status, func.count()).group_by(Alert.status), f, principal, with_status=False
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


def summaries(session: Session, alerts: list[Alert]) -> list[CaseSummary]:
    """Inbox rows for alerts (assignee names and story sizes in two queries)."""
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
    return [
        CaseSummary(
            id=a.id,
            kind=a.kind,
            title=a.title,
            severity=a.severity,
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
    base = summaries(session, [alert])[0]
    return CaseDetail(
        **base.model_dump(),
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
