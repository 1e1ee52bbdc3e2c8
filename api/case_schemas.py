"""Pydantic schemas of the cases API (AlertBase ladder: summary -> detail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class UserRef(BaseModel):
    id: int
    name: str = Field(examples=["Nguyễn Thị Lan"])


class RelatedCase(BaseModel):
    """Another case of the same story (shown as a reason on the story's one inbox row)."""

    id: int
    kind: str
    kind_label: str = Field(examples=["Vấn đề nóng"])
    severity: str
    severity_label: str = Field(examples=["Trung bình"])
    status: str
    reason: str = Field(examples=["Vấn đề nóng: điểm 52,3"])


class CaseSummary(BaseModel):
    id: int = Field(examples=[42])
    kind: str = Field(description="rule | hot | spike | misinfo", examples=["rule"])
    kind_label: str = Field(default="", examples=["Theo quy tắc"])
    title: str = Field(examples=["Phụ huynh phản ánh lạm thu đầu năm học"])
    severity: str = Field(description="critical | high | medium | low", examples=["high"])
    severity_label: str = Field(default="", examples=["Cao"])
    below_threshold: bool = Field(
        default=False, description="A hot case whose current score fell under the threshold"
    )
    reasons: list[str] = Field(
        default=[],
        description="Why this row: this case's reason, then its story's other cases'",
        examples=[["Khớp quy tắc «Lạm thu»", "Vấn đề nóng: điểm 52,3"]],
    )
    related: list[RelatedCase] = Field(default=[], description="The story's other cases")
    outlets: list[str] = Field(default=[], description="Outlets that carried the story")
    scopes: list[str] = Field(default=[], description="national | local | social reached")
    sentiment: str | None = Field(default=None, description="The story's dominant sentiment")
    source_count: int = Field(default=0, description="Distinct outlets")
    rising: bool = Field(default=False, description="More documents in the last 24 h than before")
    unit_name: str | None = Field(default=None, description="The unit the story names")
    status: str = Field(
        description="new | acknowledged | assigned | responded | closed | dismissed",
        examples=["new"],
    )
    status_label: str = Field(examples=["Mới"])
    score: float = 0.0
    story_id: int | None = None
    unit_id: int | None = None
    assignee: UserRef | None = None
    doc_count: int = Field(default=0, description="Documents in the case's story")
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None = None
    is_overdue: bool = Field(description="Past the response deadline and not yet responded")


class StatusCounts(BaseModel):
    new: int = 0
    acknowledged: int = 0
    assigned: int = 0
    responded: int = 0
    closed: int = 0
    dismissed: int = 0


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(
        default=None, description="Opaque; pass as ?cursor= for the next page, null at the end"
    )
    counts: StatusCounts = Field(description="Cases per status under the same filters")


class CaseUpdates(BaseModel):
    items: list[CaseSummary] = Field(description="Cases with an id above after_id, newest first")
    max_id: int = Field(description="Pass as after_id next time")
    counts: StatusCounts


class DocumentRef(BaseModel):
    id: str
    title: str
    url: str | None
    outlet: str = Field(examples=["Báo Thanh Niên"])
    published_at: datetime | None
    fetched_at: datetime
    reach: int = Field(description="likes + shares + comments")
    risk: str | None = None
    relevance: float | None = None
    topics: list[str] = []


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str = Field(examples=["assign"])
    actor: UserRef | None
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any]


class FactRef(BaseModel):
    id: int
    kind: str = Field(examples=["refuted"])
    statement: str
    correction: str


class FactorOut(BaseModel):
    name: str = Field(examples=["Mức độ nóng của nội dung"])
    value: float = Field(ge=0, le=1, examples=[0.91])
    percent: int = Field(examples=[91])


class CaseDetail(CaseSummary):
    why: str = Field(default="", description="One Vietnamese sentence of why it was flagged")
    factors: list[FactorOut] = Field(default=[], description="The score's factors, named")
    technical: list[tuple[str, str]] = Field(
        default=[], description="The recorded figures as (Vietnamese label, formatted value)"
    )
    rule: dict[str, Any] | None = Field(default=None, examples=[{"id": 3, "name": "Lạm thu"}])
    fact: FactRef | None = None
    details: dict[str, Any] = Field(description="Why flagged: scores, matches (as recorded)")
    response: str | None
    dismiss_reason: str | None
    acknowledged_at: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    documents: list[DocumentRef]
    events: list[EventOut]


class AssignIn(BaseModel):
    assignee_id: int = Field(ge=1, le=2**31 - 1, examples=[5])


class RespondIn(BaseModel):
    response: str = Field(
        min_length=1, max_length=20_000, examples=["Sở đã làm việc với nhà trường và hoàn trả..."]
    )
    kind: str = Field(default="reply", description="reply | correction | press_statement | other")
    url: str | None = Field(default=None, max_length=2000, examples=["https://sogd.example.vn/tb"])


class CloseIn(BaseModel):
    note: str | None = Field(default=None, max_length=20_000)


class DismissIn(BaseModel):
    reason: str = Field(min_length=1, max_length=20_000, examples=["Không liên quan đến giáo dục"])


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000, examples=["Đã gọi điện cho hiệu trưởng."])


class AttachmentIn(BaseModel):
    url: str = Field(max_length=2000, examples=["https://sogd.example.vn/thong-cao.pdf"])
    title: str = Field(default="", max_length=300, examples=["Thông cáo báo chí"])
