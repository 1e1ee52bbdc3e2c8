"""The dashboard /tong-quan and the JSON behind it (/api/v1/dashboard/...)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from alerts.detection.spikes import DEFAULT_CALENDAR
from alerts.reporting import stats
from alerts.reporting.coverage import coverage
from alerts.reporting.forecast import build_forecast
from alerts.reporting.relevance import Counting
from api import labels
from api.deps import Principal, ReaderDep, SessionDep, SettingsDep
from api.svg import hbars, stacked_bars
from api.templating import TEMPLATES
from core.geo.choice import province_code
from core.models import utcnow
from core.settings import Settings
from core.taxonomy import SENTIMENT_NAMES, TOPIC_NAMES

router = APIRouter()
Days = Annotated[int, Query(ge=1, le=366, description="Số ngày gần nhất")]
IncludeAll = Annotated[
    bool,
    Query(description="true: count every stored item, not only education items"),
]


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


def counting(settings: Settings, include_all: bool) -> Counting:
    """Education items at the configured threshold, or everything when asked."""
    return Counting(settings.alerts.relevance_threshold, everything=include_all)


def load(
    session: Any, days: int, tz: ZoneInfo, who: Principal, how: Counting
) -> list[stats.DocRow]:
    """The window's documents, counted as `how` says (one query serves every block)."""
    start, end = _window(days, tz, utcnow())
    return stats.load_documents(
        session, start, end, unit_id=who.unit_scope, min_relevance=how.min_relevance
    )


def volume_series(docs: list[stats.DocRow], days: int, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Per local day: total and count per sentiment, days without coverage included."""
    start, _ = _window(days, tz, utcnow())
    per_day: dict[str, dict[str, Any]] = {}
    for i in range(days):
        day = (start + timedelta(days=i)).date().isoformat()
        per_day[day] = {"day": day, "total": 0, "tieu_cuc": 0, "trung_tinh": 0, "tich_cuc": 0}
    for d in docs:
        row = per_day.get(d.published_at.astimezone(tz).date().isoformat())
        if row is None:
            continue
        row["total"] += 1
        if d.sentiment in SENTIMENT_NAMES:
            row[d.sentiment] += 1
    return list(per_day.values())


def facet_counts(session: Any, docs: list[stats.DocRow]) -> dict[str, list[dict[str, Any]]]:
    """Top topics, sources and units (with their names) over the window's documents."""
    source_ids: dict[str, int] = {d.source_name: d.source_id for d in docs}
    return {
        "topic": [
            {"key": k, "label": TOPIC_NAMES.get(k, k), "count": n}
            for k, n in stats.count_by(docs, "topic")
        ],
        "source": [
            {"key": str(source_ids[name]), "label": name, "count": n}
            for name, n in stats.count_by(docs, "source")
        ],
        "unit": [
            {"key": str(uid), "label": name, "count": n}
            for uid, name, n in stats.count_by_unit(session, docs)
        ],
    }


@router.get("/api/v1/dashboard/volume", response_model=list[DayVolume], tags=["dashboard"])
def volume(
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    days: Days = 30,
    include_all: IncludeAll = False,
) -> Any:
    """Education items per local day, split by sentiment (`include_all=true`: every stored item)."""
    tz = ZoneInfo(settings.timezone)
    return volume_series(load(session, days, tz, who, counting(settings, include_all)), days, tz)


def _facet(
    session: Any, settings: Settings, who: Principal, days: int, include_all: bool, what: str
) -> Any:
    docs = load(session, days, ZoneInfo(settings.timezone), who, counting(settings, include_all))
    return facet_counts(session, docs)[what]


@router.get("/api/v1/dashboard/topics", response_model=list[CountOut], tags=["dashboard"])
def top_topics(
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    days: Days = 30,
    include_all: IncludeAll = False,
) -> Any:
    """The most covered topics among education items (`include_all=true`: every stored item)."""
    return _facet(session, settings, who, days, include_all, "topic")


@router.get("/api/v1/dashboard/sources", response_model=list[CountOut], tags=["dashboard"])
def top_sources(
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    days: Days = 30,
    include_all: IncludeAll = False,
) -> Any:
    """The sources with the most education items (`include_all=true`: every stored item)."""
    return _facet(session, settings, who, days, include_all, "source")[:10]


@router.get("/api/v1/dashboard/units", response_model=list[CountOut], tags=["dashboard"])
def top_units(
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    days: Days = 30,
    include_all: IncludeAll = False,
) -> Any:
    """The province's units by the number of education items naming them (document_units)."""
    return _facet(session, settings, who, days, include_all, "unit")


@router.get("/api/v1/dashboard/cases", response_model=list[CaseAgeOut], tags=["dashboard"])
def open_cases(session: SessionDep, who: ReaderDep) -> Any:
    """Open cases by age (new, acknowledged, assigned)."""
    return stats.open_cases_by_age(session, utcnow(), unit_id=who.unit_scope)


@router.get("/tong-quan", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    days: Days = 30,
    include_all: IncludeAll = False,
) -> HTMLResponse:
    """The dashboard: volume and sentiment over time, topics, sources, units, open cases,
    and the forecast; education items only unless include_all is ticked."""
    tz = ZoneInfo(settings.timezone)
    how = counting(settings, include_all)
    docs = load(session, days, tz, who, how)
    per_day = volume_series(docs, days, tz)
    series = [
        (SENTIMENT_NAMES[k], f"s-{k}", [int(d[k]) for d in per_day])
        for k in ("tieu_cuc", "trung_tinh", "tich_cuc")
    ]
    limits = {"topic": 10, "source": 10, "unit": 15}
    blocks = {what: rows[: limits[what]] for what, rows in facet_counts(session, docs).items()}
    titles = {"topic": "Chủ đề nổi bật", "source": "Nguồn đưa tin nhiều nhất",
              "unit": "Đơn vị được nhắc đến"}  # fmt: skip
    start, end = _window(days, tz, utcnow())
    places = coverage(session, docs, start, end, province=province_code(session, settings.province))
    # With a province: its communes and wards; without one yet, the provinces.
    place_rows = places.by_commune if places.province else places.outside_by_province
    context = {
        "days": days,
        "include_all": include_all,
        "counting": how,
        "total": len(docs),
        "volume": per_day,
        "volume_chart": stacked_bars(
            [str(d["day"]) for d in per_day], series, title="Số tin theo ngày và sắc thái"
        ),
        "titles": titles,
        "charts": {
            what: hbars([(r["label"], r["count"]) for r in rows], title=titles[what])
            for what, rows in blocks.items()
        },
        "blocks": blocks,
        "cases": stats.open_cases_by_age(session, utcnow(), unit_id=who.unit_scope),
        "places": places,
        "places_chart": hbars(
            [(p.name, p.count) for p in place_rows[:15]], title="Tin, bài theo địa bàn"
        ),
        "forecast": build_forecast(
            session,
            utcnow(),
            tz,
            min_relevance=how.min_relevance,
            calendar=settings.alerts.school_calendar or DEFAULT_CALENDAR,
        ),
        "labels": labels.ALL,
    }
    return TEMPLATES.TemplateResponse(request, "dashboard.html", context)
