"""Search and document endpoints of the JSON API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api.cases import document_visible
from api.deps import ReaderDep, SearchDep, SessionDep, SettingsDep
from api.schemas import ClassificationOut, DocumentOut, ErrorOut, SearchOut, SourceRef
from api.search_params import SearchParams
from core.models import Document
from core.search import QuerySyntaxError

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/search", response_model=SearchOut, responses={400: {"model": ErrorOut}})
def search(
    params: Annotated[SearchParams, Depends()],
    backend: SearchDep,
    settings: SettingsDep,
    session: SessionDep,
    principal: ReaderDep,
) -> SearchOut:
    """Search documents: words, "phrases", AND/OR/NOT (VÀ/HOẶC/KHÔNG), -word, prefix*.

    Accent-insensitive (`giao duc` finds "giáo dục"). Filters combine with AND; several
    values of one filter combine with OR. Facets and a date histogram cover all matches."""
    try:
        result = backend.search(params.scope_to(principal).to_query(settings.timezone, session))
    except QuerySyntaxError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return SearchOut.model_validate({"query": params.q, **asdict(result)})


@router.get("/documents/{doc_id}", response_model=DocumentOut, responses={404: {"model": ErrorOut}})
def get_document(doc_id: str, session: SessionDep, principal: ReaderDep) -> DocumentOut:
    """One document with its source and newest classification."""
    if not document_visible(session, principal, doc_id):
        raise HTTPException(status_code=404, detail="Không tìm thấy tài liệu.")
    doc = session.scalar(
        select(Document)
        .where(Document.id == doc_id)
        .options(selectinload(Document.classifications), selectinload(Document.source))
    )
    if doc is None:
        raise HTTPException(status_code=404, detail="Không tìm thấy tài liệu.")
    cls = doc.classification
    return DocumentOut(
        id=doc.id,
        url=doc.url,
        canonical_url=doc.canonical_url,
        kind=doc.kind,
        title=doc.title,
        lead=doc.lead,
        body=doc.body,
        author=doc.author,
        published_at=doc.published_at,
        fetched_at=doc.fetched_at,
        source=SourceRef(id=doc.source.id, name=doc.source.name, kind=doc.source.kind),
        story_id=doc.story_id,
        likes=doc.likes,
        shares=doc.shares,
        comments=doc.comments,
        classification=ClassificationOut.model_validate(cls) if cls else None,
        indexed=doc.indexed_at is not None,
    )
