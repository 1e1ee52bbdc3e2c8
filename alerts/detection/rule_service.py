"""Alert rules written by the admin API and the search page: checked, saved and audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import taxonomy
from core.audit import Actor, commit_audited, delete_audited, submitted
from core.geo.data import admin_map
from core.models import Alert, Rule, Source, Unit
from core.rows import DbId
from core.search.query import parse

# core.taxonomy.SEVERITIES as a type: mypy and pydantic need the values written out.
Severity = Literal["low", "medium", "high", "critical"]
Channel = Literal["email", "zalo", "webhook"]
CHANNELS: tuple[str, ...] = get_args(Channel)


class RuleFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topics: list[str] = Field(default_factory=list, max_length=20)
    sentiments: list[str] = Field(default_factory=list, max_length=3)
    risks: list[str] = Field(default_factory=list, max_length=3)
    sources: list[DbId] = Field(default_factory=list, max_length=200)
    scopes: list[Literal["national", "local", "social"]] = Field(default_factory=list, max_length=3)
    units: list[DbId] = Field(default_factory=list, max_length=500)
    # Địa bàn: 2025 province (2 digits) or commune (5 digits) codes, as the search's ?place=.
    places: list[Annotated[str, Field(pattern=r"^\d{2}(\d{3})?$")]] = Field(
        default_factory=list, max_length=200
    )
    min_reach: int = Field(default=0, ge=0)


# What the API docs show as an example.
RULE_EXAMPLE: dict[str, Any] = {
    "name": "Lạm thu ở Đà Nẵng",
    "query": '"lạm thu" VÀ (da nang HOẶC "Đà Nẵng")',
    "filters": {"risks": ["nong", "theo_doi"]},
    "severity": "high",
    "notify": ["email"],
}


class RuleIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RULE_EXAMPLE]})
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(default="", max_length=1000)
    filters: RuleFilters = Field(default_factory=RuleFilters)
    severity: Severity = "medium"
    notify: list[Channel] = Field(default_factory=list)
    enabled: bool = True


def check_rule(data: RuleIn, session: Session) -> None:
    """ValueError when the query does not parse or a filter value is unknown."""
    if not data.query.strip() and not any(
        getattr(data.filters, f)
        for f in ("topics", "sentiments", "risks", "sources", "units", "places")
    ):
        raise ValueError("Quy tắc cần có từ khóa hoặc ít nhất một bộ lọc.")
    parse(data.query)  # QuerySyntaxError is a ValueError with a Vietnamese message
    f = data.filters
    for values, allowed, what in (
        (f.topics, taxonomy.TOPICS, "chủ đề"),
        (f.sentiments, taxonomy.SENTIMENTS, "sắc thái"),
        (f.risks, taxonomy.RISKS, "mức độ"),
    ):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"Giá trị {what} không hợp lệ: {', '.join(bad)}.")
    for ids, model, what in ((f.sources, Source, "nguồn tin"), (f.units, Unit, "đơn vị")):
        if ids:
            found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
            missing = sorted(set(ids) - found)
            if missing:
                raise ValueError(f"Không có {what} mã số {', '.join(map(str, missing))}.")
    amap = admin_map()
    unknown = [p for p in f.places if p not in amap.provinces and p not in amap.communes]
    if unknown:
        raise ValueError(f"Không có địa bàn mã số {', '.join(unknown)}.")


def _rule_values(data: RuleIn) -> dict[str, Any]:
    filters = {k: v for k, v in data.filters.model_dump().items() if v}
    return {
        "name": data.name.strip(),
        "query": data.query.strip(),
        "filters": filters,
        "severity": data.severity,
        "notify": list(data.notify),
        "enabled": data.enabled,
    }


def create_rule(session: Session, *, actor: Actor, data: RuleIn, origin: str = "api") -> Rule:
    """Save a search as an alert rule (query checked with the search parser)."""
    check_rule(data, session)
    rule = Rule(**_rule_values(data), created_by=actor.user_id)
    return commit_audited(session, actor, "rule.create", rule, submitted(data, origin=origin))


def update_rule(session: Session, rule: Rule, *, actor: Actor, data: RuleIn) -> Rule:
    """Replace a rule's query, filters, severity and channels."""
    check_rule(data, session)
    for key, value in _rule_values(data).items():
        setattr(rule, key, value)
    return commit_audited(session, actor, "rule.update", rule, submitted(data))


def delete_rule(session: Session, rule: Rule, *, actor: Actor) -> None:
    """Delete a rule; its past alerts stay (they point at nothing)."""
    for alert in session.scalars(select(Alert).where(Alert.rule_id == rule.id)):
        alert.rule_id = None
    delete_audited(session, actor, "rule.delete", rule, {"name": rule.name})
