"""Sources written by the admin API: the same checks as `diemtin source add/edit`, audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from core.audit import Actor, commit_audited, submitted
from core.models import Source
from core.settings import Settings
from crawlers.source_config import public_config
from crawlers.sources import edit_source, new_source

Scope = Literal["local", "national", "social"]
Interval = Annotated[int | None, Field(ge=60, le=7 * 86400)]


# What the API docs show as an example.
SOURCE_EXAMPLE: dict[str, Any] = {
    "name": "Báo Đà Nẵng – Giáo dục",
    "url": "https://baodanang.vn/rss/giao-duc.rss",
    "kind": "rss",
    "scope": "local",
    "poll_interval_s": 900,
    "config": {"fetch_pages": True},
}


class SourceIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SOURCE_EXAMPLE]})
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000)
    kind: str = Field(default="rss", max_length=20)
    scope: Scope = "national"
    province: str | None = Field(
        default=None, max_length=10, description="2025 province code of a local outlet"
    )
    poll_interval_s: Interval = None
    config: dict[str, Any] | None = Field(
        default=None,
        description="Settings of the source's kind, e.g. for kind site: sitemaps, listings, "
        "article_selector, since_days, concurrency (checked; errors name the key).",
    )


class SourceUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"enabled": False, "poll_interval_s": 1800}]}
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    scope: Scope | None = None
    province: str | None = Field(
        default=None, max_length=10, description='2025 province code; "" clears it'
    )
    poll_interval_s: Interval = None
    enabled: bool | None = None
    config: dict[str, Any] | None = Field(
        default=None,
        description="Merged into the current config (JSON merge patch: null removes a key; "
        "a secret sent back as '***' is kept).",
    )


def _changes(data: SourceIn | SourceUpdate) -> dict[str, Any]:
    """What was sent, for the audit log: secrets in the config masked."""
    changes = submitted(data)
    if changes.get("config"):
        changes["config"] = public_config(changes["config"])
    return changes


def create_source(session: Session, *, actor: Actor, data: SourceIn, settings: Settings) -> Source:
    """Add a source with the same checks as `diemtin source add`."""
    source = new_source(session, **data.model_dump(), settings=settings)
    return commit_audited(session, actor, "source.create", source, _changes(data))


def update_source(
    session: Session, source: Source, *, actor: Actor, data: SourceUpdate, settings: Settings
) -> Source:
    """Edit, enable or disable a source, or change its config (as `diemtin source edit`)."""
    edit_source(session, source, settings=settings, **data.model_dump())
    return commit_audited(session, actor, "source.update", source, _changes(data))
