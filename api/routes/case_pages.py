"""The press office's pages: the inbox (/hop-thu) and one case (/canh-bao/{id})."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from alerts.cases import lifecycle
from api.cases import (
    SEVERITY_LABELS,
    CaseFilters,
    assignable_users,
    detail,
    get_visible,
    list_cases,
    status_counts,
    summaries,
)
from api.deps import MAX_ROW_ID, OfficerDep, Principal, ReaderDep, RowId, SessionDep
from api.revisions import edits_of
from api.templating import TEMPLATES
from core.models import Role, Unit
from core.taxonomy import (
    KIND_NAMES,
    RISK_NAMES,
    SCOPE_NAMES,
    SENTIMENT_NAMES,
    STATUS_NAMES,
    TOPIC_NAMES,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
RESPONSE_KIND_LABELS = {
    "reply": "Trả lời, giải thích",
    "correction": "Đính chính",
    "press_statement": "Thông cáo báo chí",
    "other": "Khác",
}


@router.get("/hop-thu", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    principal: ReaderDep,
    status: Annotated[list[str] | None, Query()] = None,
    severity: Annotated[list[str] | None, Query()] = None,
    topic: Annotated[str | None, Query(max_length=40)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    unit: Annotated[str | None, Query(max_length=20)] = None,
    mine: bool = False,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    """The inbox: cases by severity then time, filters, counts; new cases arrive live."""
    f = CaseFilters(
        status=[s for s in status or [] if s],
        severity=[s for s in severity or [] if s],
        topic=topic or None,
        kind=kind or None,
        unit=int(unit) if unit and unit.isdigit() and int(unit) <= MAX_ROW_ID else None,
        mine=mine,
    )
    rows, next_cursor = list_cases(session, principal, f, cursor=cursor, limit=PAGE_SIZE)
    context = {
        "cases": summaries(session, rows, principal),
        "counts": status_counts(session, principal, f),
        "filters": f,
        "next_cursor": next_cursor,
        "status_labels": STATUS_NAMES,
        "severity_labels": SEVERITY_LABELS,
        "topics": TOPIC_NAMES,
        "kinds": KIND_NAMES,
        "scopes": SCOPE_NAMES,
        "sentiments": SENTIMENT_NAMES,
        "units": session.scalars(
            select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)
        ).all()
        if principal.role != Role.unit_focal.value
        else [],
        "can_act": _can_act(principal),
        "max_id": max((r.id for r in rows), default=0),
        "query": urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        ),
    }
    return TEMPLATES.TemplateResponse(request, "inbox.html", context)


def _can_act(principal: Principal) -> bool:
    return principal.role in (Role.admin.value, Role.press_officer.value)


def _render_case(
    request: Request,
    session: SessionDep,
    principal: Principal,
    alert_id: RowId,
    error: str | None = None,
    status_code: int = 200,
    draft: tuple[str, str, str] = ("", "", ""),
) -> HTMLResponse:
    case = detail(session, get_visible(session, principal, alert_id), principal)
    context = {
        "case": case,
        "error": error,
        # A refused form keeps what the user typed: (action, text, url).
        "draft": {"action": draft[0], "text": draft[1], "url": draft[2]},
        "can_act": _can_act(principal),
        "allowed": {
            action
            for action, sources in lifecycle.ALLOWED_FROM.items()
            if case.status in {s.value for s in sources}
        },
        "users": assignable_users(session) if _can_act(principal) else [],
        "status_labels": STATUS_NAMES,
        "event_labels": lifecycle.EVENT_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "response_kinds": RESPONSE_KIND_LABELS,
        "topics": TOPIC_NAMES,
        "risks": RISK_NAMES,
        # Articles the outlet edited ("Bài đã được sửa"), with what changed.
        "edits": edits_of(session, [d.id for d in case.documents]),
    }
    return TEMPLATES.TemplateResponse(request, "case.html", context, status_code=status_code)


@router.get("/canh-bao/{alert_id}", response_class=HTMLResponse)
def case_page(
    request: Request, alert_id: RowId, session: SessionDep, principal: ReaderDep
) -> HTMLResponse:
    """One case: story timeline, why flagged, actions, notes, history."""
    return _render_case(request, session, principal, alert_id)


@router.post("/canh-bao/{alert_id}")
def case_action(
    request: Request,
    alert_id: RowId,
    session: SessionDep,
    principal: OfficerDep,
    action: Annotated[str, Form(max_length=20)],
    assignee_id: Annotated[int | None, Form()] = None,
    text: Annotated[str, Form(max_length=20_000)] = "",
    kind: Annotated[str, Form(max_length=20)] = "reply",
    url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Apply one action from the case page's forms, then show the case again."""
    get_visible(session, principal, alert_id)
    common = {"session": session, "alert_id": alert_id, "actor": principal}
    try:
        if action == "acknowledge":
            lifecycle.acknowledge(**common)
        elif action == "assign":
            if assignee_id is None:
                raise lifecycle.LifecycleError("Vui lòng chọn người được phân công.")
            lifecycle.assign(**common, assignee_id=assignee_id)
        elif action == "respond":
            lifecycle.respond(**common, response=text, kind=kind, url=url or None)
        elif action == "close":
            lifecycle.close(**common, note=text)
        elif action == "dismiss":
            lifecycle.dismiss(**common, reason=text)
        elif action == "note":
            lifecycle.add_note(**common, text=text)
        elif action == "attachment":
            lifecycle.add_attachment(**common, url=url, title=text)
        else:
            raise HTTPException(400, "Thao tác không hợp lệ.")
    except lifecycle.LifecycleError as exc:
        session.rollback()
        return _render_case(
            request, session, principal, alert_id, str(exc), 409, draft=(action, text, url)
        )
    return RedirectResponse(f"/canh-bao/{alert_id}", status_code=303)
