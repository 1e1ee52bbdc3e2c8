"""JSON shapes of the admin API: what it returns, and what users take.

The other entities' input shapes live with their writes (alerts.detection, alerts.units,
alerts.notify.subscriptions, crawlers.source_service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alerts.detection.fact_service import FactIn
from alerts.notify.subscriptions import SubscriptionIn
from alerts.units.service import UnitIn
from core.models import Role
from core.rows import DbId
from crawlers.source_config import public_config

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next page (null: last)."""

    items: list[T]
    next_cursor: str | None = Field(default=None, examples=["MTI"])


def _example(**values: object) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: str
    url: str
    scope: str
    province: str | None = None  # 2025 province code of a local outlet
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


class UnitOut(UnitIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    type: str  # type: ignore[assignment]  # rows stored before the check may hold others


class FactOut(FactIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    updated_at: datetime


class UserIn(BaseModel):
    model_config = _example(
        username="vanphong1", full_name="Nguyễn Thị Lan", email="lan@sogddt.example.gov.vn",
        role="press_officer", password="mat-khau-dai-1",
    )  # fmt: skip
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


class SubscriptionOut(SubscriptionIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
