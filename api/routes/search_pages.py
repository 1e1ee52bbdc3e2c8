"""The search page (/) and the document page (/tai-lieu/{id}), server-rendered (Vietnamese)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api import labels
from api.cases import document_visible
from api.deps import ReaderDep, SearchDep, SessionDep, SettingsDep
from api.revisions import edits_of
from api.search_params import SearchParams, display_day
from api.svg import stacked_bars
from api.templating import TEMPLATES
from core.models import Document, Role, Source, Unit
from core.search import QuerySyntaxError
from core.search.base import place_label

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    params: Annotated[SearchParams, Depends()],
    backend: SearchDep,
    settings: SettingsDep,
    session: SessionDep,
    principal: ReaderDep,
    luu: Annotated[int | None, Query(description="id of the rule just saved")] = None,
) -> HTMLResponse:
    """The search page: form, filters, help, highlighted results, facets, time chart."""
    result, error = None, None
    try:
        result = backend.search(params.scope_to(principal).to_query(settings.timezone, session))
    except QuerySyntaxError as exc:
        error = str(exc)
    args = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "luu")]
    chart = None
    if result and result.histogram:
        chart = stacked_bars(
            [b.value for b in result.histogram],
            [("Số tin", "bar", [b.count for b in result.histogram])],
            title="Số tin theo thời gian",
        )
    context = {
        "q": params.q,
        "date_from": display_day(params.date_from),
        "date_to": display_day(params.date_to),
        "sort": params.sort,
        "params": params,
        "result": result,
        "error": error,
        "labels": labels.ALL,
        "sources": session.execute(select(Source.id, Source.name).order_by(Source.name)).all(),
        "units": session.execute(
            select(Unit.id, Unit.name).where(Unit.active.is_(True)).order_by(Unit.name)
        ).all(),
        "chart": chart,
        "saved_rule": luu,
        "can_save": principal.role in (Role.admin.value, Role.press_officer.value),
        "query_args": args,
        "next_qs": urlencode([*args, ("page", params.page + 1)]),
        "export_qs": urlencode([(k, v) for k, v in args if k not in ("size", "facets")]),
    }
    return TEMPLATES.TemplateResponse(
        request, "search.html", context, status_code=400 if error else 200
    )


def facet_link(args: list[tuple[str, str]], field: str, value: str) -> str:
    """The query string of the current search plus one more filter value."""
    pair = (field, str(value))
    return urlencode([*args, pair] if pair not in args else args)


TEMPLATES.env.globals["facet_link"] = facet_link
TEMPLATES.env.globals["place_label"] = place_label


@router.get("/tai-lieu/{doc_id}", response_class=HTMLResponse)
def document_page(
    request: Request, doc_id: str, session: SessionDep, principal: ReaderDep
) -> HTMLResponse:
    """One document, its text shown as text."""
    if not document_visible(session, principal, doc_id):
        raise HTTPException(status_code=404, detail="Không tìm thấy tài liệu.")
    doc = session.scalar(
        select(Document).where(Document.id == doc_id).options(selectinload(Document.source))
    )
    if doc is None:
        raise HTTPException(status_code=404, detail="Không tìm thấy tài liệu.")
    context = {"doc": doc, "edits": edits_of(session, [doc.id]).get(doc.id, [])}
    return TEMPLATES.TemplateResponse(request, "document.html", context)
