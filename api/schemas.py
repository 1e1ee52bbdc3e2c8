"""JSON shapes of the API (pydantic), kept apart from the database model."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.search.base import Bucket, Hit


class ErrorOut(BaseModel):
    detail: str = Field(examples=["Truy vấn không có từ khóa nào để tìm; hãy nhập chữ hoặc số."])


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])
    database: bool
    search: bool
    search_backend: str
    documents_pending_index: int | None = None
    # A write probe: reads can succeed on a full disk or a read-only file while every
    # write fails.
    writable: bool = True
    reasons: list[str] = Field(default_factory=list, examples=[["disk: No space left on device"]])


class SearchOut(BaseModel):
    query: str
    total: int
    page: int
    size: int
    took_ms: float
    # The search backend's own dataclasses: pydantic validates and documents them as they are.
    hits: list[Hit]
    facets: dict[str, list[Bucket]] = Field(default_factory=dict)
    histogram: list[Bucket] = Field(default_factory=list)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "giao duc",
                    "total": 1,
                    "page": 1,
                    "size": 20,
                    "took_ms": 3.2,
                    "hits": [
                        {
                            "id": "6f1c0c1e-3d5b-5a57-9a0e-0d8f3b0f2a11",
                            "title": "Sở Giáo dục khai giảng năm học mới",
                            "url": "https://example.vn/bai/khai-giang.html",
                            "source_id": 1,
                            "source_name": "Báo mẫu",
                            "published_at": "2026-09-05T01:00:00Z",
                            "topics": ["khac"],
                            "sentiment": "tich_cuc",
                            "risk": "binh_thuong",
                            "units": [],
                            "score": 4.2,
                            "title_html": "Sở <mark>Giáo</mark> <mark>dục</mark> khai giảng",
                            "snippet_html": "… ngành <mark>giáo</mark> <mark>dục</mark> …",
                        }
                    ],
                    "facets": {"topic": [{"value": "khac", "count": 1}]},
                    "histogram": [{"value": "2026-09-05", "count": 1}],
                }
            ]
        }
    )


class SourceRef(BaseModel):
    id: int
    name: str
    kind: str


class ClassificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    model_version: str
    relevance: float
    topics: list[str]
    sentiment: str
    sentiment_score: float
    risk: str
    risk_score: float
    toxicity: float
    misinformation: float


class DocumentOut(BaseModel):
    id: str
    url: str | None
    canonical_url: str | None
    kind: str
    title: str
    lead: str
    body: str
    author: str | None
    published_at: datetime | None
    fetched_at: datetime
    source: SourceRef
    story_id: int | None
    likes: int | None
    shares: int | None
    comments: int | None
    classification: ClassificationOut | None
    indexed: bool
