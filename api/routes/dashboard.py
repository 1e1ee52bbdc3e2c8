"""The dashboard /tong-quan and the JSON behind it (/api/v1/dashboard/...)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from alerts import stats
from api import labels
from api.deps import Principal, ReaderDep, SessionDep, SettingsDep
from api.routes.web import TEMPLATES
from api.svg import hbars, stacked_bars
from core.models import utcnow

router = APIRouter()
Days = Annotated[int, Query(ge=1, le=366, description="Số ngày gần nhất")]


class DayVolume(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {"day": "2026-11-20", "total": 12, "tieu_cuc": 3, "trung_tinh": 7, "tich_cuc": 2}
            ]
        }
    }
    day: str
    total: int
    tieu_cuc: int
    trung_tinh: int
    tich_cuc: int


class CountOut(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [{"key": "hoc_phi_thu_chi", "label": "Học phí, thu chi", "count": 9}]
        }
    }
    key: str
    label: str
    count: int


class CaseAgeOut(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [{"age": "1–3 ngày", "total": 2, "by_severity": {"high": 2}}]
        }
    }
    age: str
    total: int
    by_severity: dict[str, int] = Field(default_factory=dict)


def _window(days: int, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(tz)
    start = (local - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, now + timedelta(microseconds=1)


def _docs(
    session: Any, days: int, tz: ZoneInfo, who: Principal
) -> tuple[list[stats.DocRow], datetime, datetime]:
    start, end = _window(days, tz, utcnow())
    return stats.load_documents(session, start, end, unit_id=who.unit_id), start, end


def _counts(session: Any, docs: list[stats.DocRow], what: str, limit: int) -> list[dict[str, Any]]:
    if what == "unit":
        return [
            {"key": str(uid), "label": name, "count": n}
            for uid, name, n in stats.count_by_unit(session, docs)[:limit]
        ]
    names = {"topic": labels.TOPICS, "sentiment": labels.SENTIMENTS}.get(what, {})
    return [
        {"key": k, "label": names.get(k, k), "count": n}
        for k, n in stats.count_by(docs, what, limit)
    ]


@router.get("/api/v1/dashboard/volume", response_model=list[DayVolume], tags=["dashboard"])
def volume(session: SessionDep, settings: SettingsDep, who: ReaderDep, days: Days = 30) -> Any:
    """Articles per local day, split by sentiment."""
    tz = ZoneInfo(settings.timezone)
    docs, start, end = _docs(session, days, tz, who)
    return stats.volume_by_day(docs, start, end, tz)


@router.get("/api/v1/dashboard/topics", response_model=list[CountOut], tags=["dashboard"])
def top_topics(session: SessionDep, settings: SettingsDep, who: ReaderDep, days: Days = 30) -> Any:
    """The most covered topics."""
    docs, _, _ = _docs(session, days, ZoneInfo(settings.timezone), who)
    return _counts(session, docs, "topic", 16)


@router.get("/api/v1/dashboard/sources", response_model=list[CountOut], tags=["dashboard"])
def top_sources(session: SessionDep, settings: SettingsDep, who: ReaderDep, days: Days = 30) -> Any:
    """The sources with the most articles."""
    docs, _, _ = _docs(session, days, ZoneInfo(settings.timezone), who)
    return _counts(session, docs, "source", 10)


@router.get("/api/v1/dashboard/units", response_model=list[CountOut], tags=["dashboard"])
def top_units(session: SessionDep, settings: SettingsDep, who: ReaderDep, days: Days = 30) -> Any:
    """The province's units by the number of articles naming them."""
    docs, _, _ = _docs(session, days, ZoneInfo(settings.timezone), who)
    return _counts(session, docs, "unit", 20)


@router.get("/api/v1/dashboard/cases", response_model=list[CaseAgeOut], tags=["dashboard"])
def open_cases(session: SessionDep, who: ReaderDep) -> Any:
    """Open cases by age (new, acknowledged, assigned)."""
    return stats.open_cases_by_age(session, utcnow(), unit_id=who.unit_id)


@router.get("/tong-quan", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request, session: SessionDep, settings: SettingsDep, who: ReaderDep, days: Days = 30
) -> HTMLResponse:
    """The dashboard: volume and sentiment over time, topics, sources, units, open cases."""
    tz = ZoneInfo(settings.timezone)
    docs, start, end = _docs(session, days, tz, who)
    per_day = stats.volume_by_day(docs, start, end, tz)
    series = [
        (labels.SENTIMENTS[k], f"s-{k}", [int(d[k]) for d in per_day])  # type: ignore[call-overload]
        for k in ("tieu_cuc", "trung_tinh", "tich_cuc")
    ]
    blocks = {
        what: _counts(session, docs, what, limit)
        for what, limit in (("topic", 10), ("source", 10), ("unit", 15))
    }
    context = {
        "days": days,
        "total": len(docs),
        "volume_chart": stacked_bars(
            [str(d["day"]) for d in per_day], series, title="Số tin theo ngày và sắc thái"
        ),
        "charts": {
            what: hbars([(r["label"], r["count"]) for r in rows], title=what)
            for what, rows in blocks.items()
        },
        "blocks": blocks,
        "cases": stats.open_cases_by_age(session, utcnow(), unit_id=who.unit_id),
        "labels": labels.ALL,
    }
    return TEMPLATES.TemplateResponse(request, "dashboard.html", context)
