"""The cases (alerts) API: the inbox list, one case, and every lifecycle action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select

from alerts.cases import lifecycle
from api.case_schemas import (
    AssignIn,
    AttachmentIn,
    CaseDetail,
    CasePage,
    CaseUpdates,
    CloseIn,
    DismissIn,
    EventOut,
    NoteIn,
    RespondIn,
)
from api.cases import (
    CaseFilters,
    apply_filters,
    detail,
    get_visible,
    list_cases,
    status_counts,
    story_leads,
    summaries,
    visible,
)
from api.deps import MAX_ROW_ID, OfficerDep, ReaderDep, RowId, SessionDep
from api.schemas import ErrorOut
from core.models import Alert

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
T = TypeVar("T")
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut, "description": "The case cannot take this action in its state"},
}


def _filters(
    status: list[str] | None,
    severity: list[str] | None,
    topic: str | None,
    unit: int | None,
    kind: str | None,
    mine: bool,
) -> CaseFilters:
    return CaseFilters(
        status=status or [], severity=severity or [], topic=topic, unit=unit, kind=kind, mine=mine
    )


StatusQ = Annotated[list[str] | None, Query(description="new, acknowledged, ... (repeatable)")]
SeverityQ = Annotated[list[str] | None, Query(description="critical, high, medium, low")]
TopicQ = Annotated[str | None, Query(description="A topic code (docs/taxonomy.md)")]
UnitQ = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="Cases about this unit")]
KindQ = Annotated[str | None, Query(max_length=20, description="rule, hot, spike, misinfo")]
MineQ = Annotated[bool, Query(description="Only cases assigned to me")]


@router.get("", response_model=CasePage, responses=ERRORS)
def list_endpoint(
    session: SessionDep,
    principal: ReaderDep,
    status: StatusQ = None,
    severity: SeverityQ = None,
    topic: TopicQ = None,
    unit: UnitQ = None,
    kind: KindQ = None,
    mine: MineQ = False,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    """Cases, most severe first then newest, with counts per status; cursor pagination."""
    f = _filters(status, severity, topic, unit, kind, mine)
    rows, next_cursor = list_cases(session, principal, f, cursor=cursor, limit=limit)
    return CasePage(
        items=summaries(session, rows, principal),
        next_cursor=next_cursor,
        counts=status_counts(session, principal, f),
    )


@router.get("/updates", response_model=CaseUpdates, responses=ERRORS)
def updates(
    session: SessionDep,
    principal: ReaderDep,
    after_id: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
    status: StatusQ = None,
    severity: SeverityQ = None,
    topic: TopicQ = None,
    unit: UnitQ = None,
    kind: KindQ = None,
    mine: MineQ = False,
) -> CaseUpdates:
    """Inbox rows whose case was created since `after_id` (the inbox polls this to show new
    cases at once); a story's row replaces the one the page shows for it (same story_id)."""
    f = _filters(status, severity, topic, unit, kind, mine)
    stmt = story_leads(apply_filters(select(Alert), f, principal), f, principal)
    rows = list(
        session.scalars(stmt.where(Alert.id > after_id).order_by(Alert.id.desc()).limit(100))
    )
    top = session.scalar(visible(select(func.max(Alert.id)), principal)) or 0
    return CaseUpdates(
        items=summaries(session, rows, principal),
        max_id=max(top, after_id),
        counts=status_counts(session, principal, f),
    )


@router.get("/{alert_id}", response_model=CaseDetail, responses=ERRORS)
def get_case(alert_id: RowId, session: SessionDep, principal: ReaderDep) -> CaseDetail:
    """One case: story timeline, why it was flagged, history."""
    return detail(session, get_visible(session, principal, alert_id), principal)


@router.get("/{alert_id}/events", response_model=list[EventOut], responses=ERRORS)
def get_events(alert_id: RowId, session: SessionDep, principal: ReaderDep) -> list[EventOut]:
    """The case's history, oldest first."""
    return detail(session, get_visible(session, principal, alert_id), principal).events


def run_action(
    session: SessionDep, principal: OfficerDep, alert_id: RowId, action: Callable[[], T]
) -> T:
    """Run a lifecycle action on a visible case, mapping its errors to 404/409."""
    get_visible(session, principal, alert_id)
    try:
        return action()
    except lifecycle.CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except lifecycle.LifecycleError as exc:
        session.rollback()
        raise HTTPException(409, str(exc)) from None


def _act(
    session: SessionDep, principal: OfficerDep, alert_id: RowId, fn: Callable[[], object]
) -> CaseDetail:
    run_action(session, principal, alert_id, fn)
    session.expire_all()
    return detail(session, get_visible(session, principal, alert_id), principal)


@router.post("/{alert_id}/acknowledge", response_model=CaseDetail, responses=ERRORS)
def acknowledge(alert_id: RowId, session: SessionDep, principal: OfficerDep) -> CaseDetail:
    """Take the case in (new -> acknowledged)."""
    return _act(
        session,
        principal,
        alert_id,
        lambda: lifecycle.acknowledge(session=session, alert_id=alert_id, actor=principal),
    )


@router.post("/{alert_id}/assign", response_model=CaseDetail, responses=ERRORS)
def assign(
    alert_id: RowId, body: AssignIn, session: SessionDep, principal: OfficerDep
) -> CaseDetail:
    """Give the case to a user."""
    return _act(
        session,
        principal,
        alert_id,
        lambda: lifecycle.assign(
            session=session, alert_id=alert_id, actor=principal, assignee_id=body.assignee_id
        ),
    )


@router.post("/{alert_id}/respond", response_model=CaseDetail, responses=ERRORS)
def respond(
    alert_id: RowId, body: RespondIn, session: SessionDep, principal: OfficerDep
) -> CaseDetail:
    """Record the reply, correction or press statement."""
    return _act(
        session,
        principal,
        alert_id,
        lambda: lifecycle.respond(
            session=session,
            alert_id=alert_id,
            actor=principal,
            response=body.response,
            kind=body.kind,
            url=body.url,
        ),
    )


@router.post("/{alert_id}/close", response_model=CaseDetail, responses=ERRORS)
def close(alert_id: RowId, body: CloseIn, session: SessionDep, principal: OfficerDep) -> CaseDetail:
    """Close a responded case."""
    return _act(
        session,
        principal,
        alert_id,
        lambda: lifecycle.close(
            session=session, alert_id=alert_id, actor=principal, note=body.note
        ),
    )


@router.post("/{alert_id}/dismiss", response_model=CaseDetail, responses=ERRORS)
def dismiss(
    alert_id: RowId, body: DismissIn, session: SessionDep, principal: OfficerDep
) -> CaseDetail:
    """Dismiss as not relevant, with a reason (fed back to the classifier)."""
    return _act(
        session,
        principal,
        alert_id,
        lambda: lifecycle.dismiss(
            session=session, alert_id=alert_id, actor=principal, reason=body.reason
        ),
    )


@router.post("/{alert_id}/notes", status_code=201, response_model=CaseDetail, responses=ERRORS)
def add_note(
    alert_id: RowId, body: NoteIn, session: SessionDep, principal: OfficerDep
) -> CaseDetail:
    """Add a note to the case's history."""
    return _act(
        session,
        principal,
        alert_id,
        lambda: lifecycle.add_note(
            session=session, alert_id=alert_id, actor=principal, text=body.text
        ),
    )


@router.post(
    "/{alert_id}/attachments", status_code=201, response_model=CaseDetail, responses=ERRORS
)
def add_attachment(
    alert_id: RowId, body: AttachmentIn, session: SessionDep, principal: OfficerDep
) -> CaseDetail:
    """Attach an http(s) link to the case."""
    return _act(
        session,
        principal,
        alert_id,
        lambda: lifecycle.add_attachment(
            session=session, alert_id=alert_id, actor=principal, url=body.url, title=body.title
        ),
    )
