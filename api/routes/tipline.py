"""The tipline endpoint: staff record a post forwarded to them (Zalo, Facebook groups)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import Principal, SettingsDep, require_roles
from api.schemas import ErrorOut
from core.audit import audit
from core.db import retry_on_lock, session_scope
from core.models import Document, Role
from crawlers.tipline import (
    Channel,
    TipError,
    is_duplicate,
    record_tip,
    submission_id,
)

router = APIRouter(prefix="/api/v1", tags=["tipline"])
OfficerDep = Annotated[Principal, Depends(require_roles(Role.admin, Role.press_officer))]
# Far above the service's own 20,000-character limit, which answers with a precise
# Vietnamese message; this bound only keeps absurd bodies from being processed at all.
HARD_MAX_CHARS = 200_000


class TipCreate(BaseModel):
    text: str = Field(max_length=HARD_MAX_CHARS, examples=["Phụ huynh chuyển tiếp bài đăng..."])
    url: str | None = Field(default=None, max_length=HARD_MAX_CHARS)
    screenshot_text: str | None = Field(default=None, max_length=HARD_MAX_CHARS)
    submitted_by: str = Field(max_length=HARD_MAX_CHARS, examples=["Phụ huynh qua Zalo OA"])
    channel: Channel


class TipOut(BaseModel):
    id: str
    duplicate: bool = Field(description="True when the same post had been submitted before")
    document_url: str = Field(examples=["/tai-lieu/0b6f..."])


@router.post(
    "/tips",
    status_code=201,
    response_model=TipOut,
    responses={400: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def create_tip(
    body: TipCreate,
    settings: SettingsDep,
    principal: OfficerDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="The client's token for this submission: a retried request with the "
            "same key is answered again, never stored twice",
        ),
    ] = None,
) -> TipOut:
    """Record a tip; the same post submitted again joins the existing document.

    The tip, its submission record and its audit row commit together or not at all."""
    sub_id = submission_id(principal.username, idempotency_key)

    def with_audit(session: Session, doc: Document) -> None:
        # Flushed with the tip's own document write (store_with_document): one commit.
        audit(
            session, principal, "tip.create", "document", doc.id, {"duplicate": is_duplicate(doc)}
        )

    def store() -> tuple[Document, bool]:
        with session_scope(settings.db_url) as session:
            doc, _ = record_tip(
                session,
                text=body.text,
                url=body.url,
                screenshot_text=body.screenshot_text,
                submitted_by=body.submitted_by,
                channel=body.channel,
                settings=settings,
                entered_by=principal.username,
                sub_id=sub_id,
                on_store=with_audit,
            )
            return doc, is_duplicate(doc)

    try:
        # The whole transaction again when the lock could not be had (nothing was stored).
        doc, duplicate = retry_on_lock(store, what="tip")
    except TipError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return TipOut(id=doc.id, duplicate=duplicate, document_url=f"/tai-lieu/{doc.id}")
