"""The tipline endpoint: staff record a post forwarded to them (Zalo, Facebook groups)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from api.deps import Principal, SessionDep, SettingsDep, require_roles
from api.schemas import ErrorOut
from core.audit import audit
from core.models import Role
from crawlers.tipline import Channel, TipError, is_duplicate, submit_tip

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
    body: TipCreate, session: SessionDep, settings: SettingsDep, principal: OfficerDep
) -> TipOut:
    """Record a tip; the same post submitted again joins the existing document."""
    try:
        doc = submit_tip(
            session,
            text=body.text,
            url=body.url,
            screenshot_text=body.screenshot_text,
            submitted_by=body.submitted_by,
            channel=body.channel,
            settings=settings,
            entered_by=principal.username,
        )
    except TipError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    duplicate = is_duplicate(doc)
    # submit_tip (crawlers/) commits the tip itself, so its audit row follows in a second commit.
    audit(session, principal, "tip.create", "document", doc.id, {"duplicate": duplicate})
    session.commit()
    return TipOut(id=doc.id, duplicate=duplicate, document_url=f"/tai-lieu/{doc.id}")
