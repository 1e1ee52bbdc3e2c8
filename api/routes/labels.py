"""Label corrections: a press officer says what the classifier should have said.

One correction per (document, head), replaced when corrected again; each keeps the model
input and the prediction of that moment, so it becomes a
training row (classifier.training.tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.deps import Principal, SessionDep, require_roles
from api.schemas import ErrorOut
from classifier.corrections import HEADS, CorrectionError, validate
from core.models import Alert, Classification, Document, LabelCorrection, Role, utcnow
from crawlers.labelling import classification_text

router = APIRouter(prefix="/api/v1", tags=["labels"])
OfficerDep = Annotated[Principal, Depends(require_roles(Role.admin, Role.press_officer))]
NOT_FOUND = "Không tìm thấy bài viết."


class LabelIn(BaseModel):
    head: str = Field(max_length=30, examples=["risk"], description=f"one of {', '.join(HEADS)}")
    value: Any = Field(
        examples=["nong"],
        description="0/1 for relevance, toxicity, misinformation; a label code for sentiment "
        "and risk; a list of 1–3 topic codes for topics",
    )
    alert_id: int | None = Field(default=None, description="the alert it was corrected from")


class LabelOut(BaseModel):
    id: int
    document_id: str | None
    alert_id: int | None
    head: str
    value: Any
    model_version: str | None
    predicted: Any | None
    user_id: int | None
    created_at: datetime


def _out(c: LabelCorrection) -> LabelOut:
    return LabelOut(
        id=c.id,
        document_id=c.document_id,
        alert_id=c.alert_id,
        head=c.head,
        value=c.value,
        model_version=c.model_version,
        predicted=c.predicted,
        user_id=c.user_id,
        created_at=c.created_at,
    )


def _predicted(cls: Classification | None, head: str) -> Any:
    """What the newest classification said for this head (None when unclassified)."""
    if cls is None:
        return None
    return {
        "relevance": cls.relevance,
        "topics": list(cls.topics or []),
        "sentiment": cls.sentiment,
        "risk": cls.risk,
        "toxicity": cls.toxicity,
        "misinformation": cls.misinformation,
    }[head]


def _document(session: Session, doc_id: str) -> Document:
    doc = session.scalar(
        select(Document)
        .where(Document.id == doc_id)
        .options(selectinload(Document.classifications))
    )
    if doc is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return doc


@router.post(
    "/documents/{doc_id}/labels",
    response_model=LabelOut,
    status_code=201,
    responses={200: {"model": LabelOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut},
               422: {"model": ErrorOut}},
)  # fmt: skip
def correct_label(
    doc_id: str, body: LabelIn, session: SessionDep, principal: OfficerDep, response: Response
) -> LabelOut:
    """Record the right value of one head for a document (201 new, 200 replaced)."""
    try:
        value = validate(body.head, body.value)
    except CorrectionError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    doc = _document(session, doc_id)
    if body.alert_id is not None and session.get(Alert, body.alert_id) is None:
        raise HTTPException(status_code=404, detail="Không tìm thấy cảnh báo.")
    row = session.scalar(
        select(LabelCorrection).where(
            LabelCorrection.document_id == doc.id, LabelCorrection.head == body.head
        )
    )
    if row is None:
        row = LabelCorrection(document_id=doc.id, head=body.head)
        session.add(row)
    else:
        response.status_code = 200
    cls = doc.classification
    row.value = value
    row.alert_id = body.alert_id
    # The model input now: training needs no join and survives the document's deletion.
    row.text = classification_text(doc)
    row.model_version = cls.model_version if cls else None
    row.predicted = _predicted(cls, body.head)
    row.user_id = principal.user_id
    row.created_at = utcnow()
    session.commit()
    return _out(row)


@router.get(
    "/documents/{doc_id}/labels",
    response_model=list[LabelOut],
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def list_labels(doc_id: str, session: SessionDep, principal: OfficerDep) -> list[LabelOut]:
    """A document's corrections, in the order of the heads."""
    doc = _document(session, doc_id)
    rows = session.scalars(select(LabelCorrection).where(LabelCorrection.document_id == doc.id))
    return sorted((_out(r) for r in rows), key=lambda r: HEADS.index(r.head))
