"""The dashboard /tong-quan and the JSON behind it (/api/v1/dashboard/...)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from alerts.reporting import stats
from api import labels
from api.deps import Principal, ReaderDep, SearchDep, SessionDep, SettingsDep
from api.svg import hbars, stacked_bars
from api.templating import TEMPLATES
from core.models import Unit, utcnow
from core.search import SearchBackend, SearchQuery
from core.taxonomy import SENTIMENT_NAMES, TOPIC_NAMES

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
    return start, now


def _search(backend: SearchBackend, days: int, tz: ZoneInfo, who: Principal, **kw: Any) -> Any:
    # The search index already keeps the filter fields columnar (facets and day histograms
    # in milliseconds), so the dashboard asks it instead of scanning the documents table.
    start, end = _window(days, tz, utcnow())
    query = SearchQuery(
        date_from=start,
        date_to=end,
        units=[who.unit_scope] if who.unit_scope is not None else [],
        size=1,
        highlight=False,
        **kw,
    )
    return backend.search(query)


def volume_series(
    backend: SearchBackend, days: int, tz: ZoneInfo, who: Principal
) -> list[dict[str, Any]]:
    """Per local day: total and count per sentiment, days without coverage included."""
    start, _ = _window(days, tz, utcnow())
    per_day: dict[str, dict[str, Any]] = {}
    for i in range(days):
        day = (start + timedelta(days=i)).date().isoformat()
        per_day[day] = {"day": day, "total": 0, "tieu_cuc": 0, "trung_tinh": 0, "tich_cuc": 0}
    for b in _search(backend, days, tz, who, histogram="day").histogram:
        if b.value in per_day:
            per_day[b.value]["total"] = b.count
    for sentiment in ("tieu_cuc", "trung_tinh", "tich_cuc"):
        result = _search(backend, days, tz, who, sentiments=[sentiment], histogram="day")
        for b in result.histogram:
            if b.value in per_day:
                per_day[b.value][sentiment] = b.count
    return list(per_day.values())


def facet_counts(
    backend: SearchBackend,
    session: Any,
    days: int,
    tz: ZoneInfo,
    who: Principal,
    *,
    result: Any = None,
) -> dict[str, list[dict[str, Any]]]:
    """Top topics, sources and units (with their names) over the window."""
    result = result or _search(backend, days, tz, who, facets=True)
    unit_ids = [int(b.value) for b in result.facets.get("unit", []) if b.value.isdigit()]
    unit_names = dict(
        session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).tuples().all()
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for what, names in (("topic", TOPIC_NAMES), ("source", {}), ("unit", {})):
        rows = []
        for b in result.facets.get(what, []):
            if what == "unit":
                label = (
                    unit_names.get(int(b.value), f"#{b.value}") if b.value.isdigit() else b.value
                )
            else:
                label = names.get(b.value) or b.label or b.value
            rows.append({"key": b.value, "label": label, "count": b.count})
        out[what] = rows
    return out


@router.get("/api/v1/dashboard/volume", response_model=list[DayVolume], tags=["dashboard"])
def volume(backend: SearchDep, settings: SettingsDep, who: ReaderDep, days: Days = 30) -> Any:
    """Articles per local day, split by sentiment."""
    return volume_series(backend, days, ZoneInfo(settings.timezone), who)


@router.get("/api/v1/dashboard/topics", response_model=list[CountOut], tags=["dashboard"])
def top_topics(
    session: SessionDep, backend: SearchDep, settings: SettingsDep, who: ReaderDep, days: Days = 30
) -> Any:
    """The most covered topics."""
    return facet_counts(backend, session, days, ZoneInfo(settings.timezone), who)["topic"]


@router.get("/api/v1/dashboard/sources", response_model=list[CountOut], tags=["dashboard"])
def top_sources(
    session: SessionDep, backend: SearchDep, settings: SettingsDep, who: ReaderDep, days: Days = 30
) -> Any:
    """The sources with the most articles."""
    return facet_counts(backend, session, days, ZoneInfo(settings.timezone), who)["source"][:10]


@router.get("/api/v1/dashboard/units", response_model=list[CountOut], tags=["dashboard"])
def top_units(
    session: SessionDep, backend: SearchDep, settings: SettingsDep, who: ReaderDep, days: Days = 30
) -> Any:
    """The province's units by the number of articles naming them (document_units)."""
    return facet_counts(backend, session, days, ZoneInfo(settings.timezone), who)["unit"]


@router.get("/api/v1/dashboard/cases", response_model=list[CaseAgeOut], tags=["dashboard"])
def open_cases(session: SessionDep, who: ReaderDep) -> Any:
    """Open cases by age (new, acknowledged, assigned)."""
    return stats.open_cases_by_age(session, utcnow(), unit_id=who.unit_scope)


@router.get("/tong-quan", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request,
    session: SessionDep,
    backend: SearchDep,
    settings: SettingsDep,
    who: ReaderDep,
    days: Days = 30,
) -> HTMLResponse:
    """The dashboard: volume and sentiment over time, topics, sources, units, open cases."""
    tz = ZoneInfo(settings.timezone)
    per_day = volume_series(backend, days, tz, who)
    series = [
        (SENTIMENT_NAMES[k], f"s-{k}", [int(d[k]) for d in per_day])
        for k in ("tieu_cuc", "trung_tinh", "tich_cuc")
    ]
    limits = {"topic": 10, "source": 10, "unit": 15}
    blocks = {
        what: rows[: limits[what]]
        for what, rows in facet_counts(backend, session, days, tz, who).items()
    }
    context = {
        "days": days,
        "total": sum(int(d["total"]) for d in per_day),
        "volume_chart": stacked_bars(
            [str(d["day"]) for d in per_day], series, title="Số tin theo ngày và sắc thái"
        ),
        "charts": {
            what: hbars([(r["label"], r["count"]) for r in rows], title=what)
            for what, rows in blocks.items()
        },
        "blocks": blocks,
        "cases": stats.open_cases_by_age(session, utcnow(), unit_id=who.unit_scope),
        "labels": labels.ALL,
    }
    return TEMPLATES.TemplateResponse(request, "dashboard.html", context)
