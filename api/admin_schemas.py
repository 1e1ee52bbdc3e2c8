"""JSON shapes of the admin API: sources, rules, units, facts, users, subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.models import Role
from crawlers.source_config import public_config

T = TypeVar("T")
# Row ids fit PostgreSQL's integer and SQLite's INTEGER; larger numbers are refused up front.
MAX_ID = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
Severity = Literal["low", "medium", "high", "critical"]
Channel = Literal["email", "zalo", "webhook"]
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
CHANNELS: tuple[str, ...] = ("email", "zalo", "webhook")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next page (null: last)."""

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=["MTI"])


def _example(**values: object) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})


class SourceIn(BaseModel):
    model_config = _example(
        name="Báo Đà Nẵng – Giáo dục",
        url="https://baodanang.vn/rss/giao-duc.rss",
        kind="rss",
        scope="local",
        poll_interval_s=900,
        config={"fetch_pages": True},
    )
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000)
    kind: str = Field(default="rss", max_length=20)
    scope: Literal["local", "national", "social"] = "national"
    poll_interval_s: int | None = Field(default=None, ge=60, le=7 * 86400)
    config: dict[str, Any] | None = Field(
        default=None,
        description="Settings of the source's kind, e.g. for kind site: sitemaps, listings, "
        "article_selector, since_days, concurrency (checked; errors name the key).",
    )


class SourceUpdate(BaseModel):
    model_config = _example(enabled=False, poll_interval_s=1800)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    scope: Literal["local", "national", "social"] | None = None
    poll_interval_s: int | None = Field(default=None, ge=60, le=7 * 86400)
    enabled: bool | None = None
    config: dict[str, Any] | None = Field(
        default=None,
        description="Merged into the current config (JSON merge patch: null removes a key; "
        "a secret sent back as '***' is kept).",
    )


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: str
    url: str
    scope: str
    enabled: bool
    poll_interval_s: int
    health: str
    consecutive_failures: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    items_total: int
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("config", mode="before")
    @classmethod
    def _mask_secrets(cls, value: Any) -> dict[str, Any]:
        # Access tokens and API keys are written, never read back.
        return public_config(value if isinstance(value, dict) else {})


class RuleFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topics: list[str] = Field(default_factory=list, max_length=20)
    sentiments: list[str] = Field(default_factory=list, max_length=3)
    risks: list[str] = Field(default_factory=list, max_length=3)
    sources: list[DbId] = Field(default_factory=list, max_length=200)
    scopes: list[Literal["national", "local", "social"]] = Field(default_factory=list, max_length=3)
    units: list[DbId] = Field(default_factory=list, max_length=500)
    min_reach: int = Field(default=0, ge=0)


class RuleIn(BaseModel):
    model_config = _example(
        name="Lạm thu ở Đà Nẵng",
        query='"lạm thu" VÀ (da nang HOẶC "Đà Nẵng")',
        filters={"risks": ["nong", "theo_doi"]},
        severity="high",
        notify=["email"],
    )
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(default="", max_length=1000)
    filters: RuleFilters = Field(default_factory=RuleFilters)
    severity: Severity = "medium"
    notify: list[Channel] = Field(default_factory=list)
    enabled: bool = True


class RuleOut(BaseModel):
    # Loose types: rules written by older code or by hand may carry other filter keys.
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    query: str
    filters: dict[str, Any]
    severity: str | None
    notify: list[Any]
    enabled: bool
    created_at: datetime


class UnitIn(BaseModel):
    model_config = _example(
        name="Phòng GDĐT Hải Châu",
        type="phong_gddt",
        district="Hải Châu",
        aliases=["PGD Hải Châu"],
        focal_email="vanthu@haichau.edu.vn",
    )
    name: str = Field(min_length=1, max_length=300)
    # The keys of api.report_export.UNIT_TYPES (the admin form's choices, the import's).
    type: Literal["so", "phong_gddt", "truong", "khac"] = "truong"
    district: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    focal_email: str | None = Field(default=None, max_length=300)
    active: bool = True


class UnitOut(UnitIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    type: str  # type: ignore[assignment]  # rows stored before the check may hold others


class FactIn(BaseModel):
    model_config = _example(
        kind="refuted",
        statement="Sở GDĐT yêu cầu học sinh nộp 2 triệu đồng tiền cơ sở vật chất.",
        correction="Sở GDĐT khẳng định không có chủ trương thu khoản này.",
        source_url="https://sogddt.example.gov.vn/thong-bao/123",
    )
    kind: Literal["refuted", "verified"] = "refuted"
    statement: str = Field(min_length=1, max_length=5000)
    correction: str = Field(default="", max_length=10000)
    source_url: str | None = Field(default=None, max_length=2000)
    active: bool = True


class FactOut(FactIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    updated_at: datetime


class UserIn(BaseModel):
    model_config = _example(
        username="vanphong1",
        full_name="Nguyễn Thị Lan",
        email="lan@sogddt.example.gov.vn",
        role="press_officer",
        password="mat-khau-dai-1",
    )
    username: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    full_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=300)
    role: Role = Role.press_officer
    unit_id: DbId | None = None
    password: str = Field(min_length=8, max_length=200)


class UserUpdate(BaseModel):
    model_config = _example(role="leadership", active=True)
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=300)
    role: Role | None = None
    unit_id: DbId | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    email: str | None
    role: str
    unit_id: int | None
    active: bool
    created_at: datetime


class SubscriptionIn(BaseModel):
    model_config = _example(
        kind="digest",
        channel="email",
        target="lanhdao@sogddt.example.gov.vn",
        send_at="07:00",
        min_severity="high",
        quiet_hours="22:00-06:00",
    )
    user_id: DbId | None = None
    kind: Literal["digest", "alert"] = "digest"
    channel: Channel = "email"
    target: str = Field(min_length=1, max_length=500)
    send_at: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    min_severity: Severity = "high"
    quiet_hours: str = Field(
        default="", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
    )
    unit_id: DbId | None = None
    enabled: bool = True


class SubscriptionOut(SubscriptionIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
