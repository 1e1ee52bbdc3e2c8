"""Server-rendered pages (Vietnamese). The press office's full web app builds on these."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api import labels
from api.cases import document_visible
from api.deps import ReaderDep, SearchDep, SessionDep, SettingsDep
from api.search_params import SearchParams
from api.templating import TEMPLATES
from core.models import Document
from core.search import QuerySyntaxError

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    params: Annotated[SearchParams, Depends()],
    backend: SearchDep,
    settings: SettingsDep,
    principal: ReaderDep,
) -> HTMLResponse:
    """The search page: form, help, results with highlights, facets, histogram."""
    result, error = None, None
    try:
        result = backend.search(params.scope_to(principal).to_query(settings.timezone))
    except QuerySyntaxError as exc:
        error = str(exc)
    args = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    context = {
        "q": params.q,
        "date_from": params.date_from,
        "date_to": params.date_to,
        "sort": params.sort,
        "result": result,
        "error": error,
        "labels": labels.ALL,
        "next_qs": urlencode([*args, ("page", params.page + 1)]),
    }
    return TEMPLATES.TemplateResponse(
        request, "search.html", context, status_code=400 if error else 200
    )


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
    return TEMPLATES.TemplateResponse(request, "document.html", {"doc": doc})
