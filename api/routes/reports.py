"""The monthly report: page /bao-cao, JSON, and DOCX / XLSX downloads."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from alerts.detection.spikes import DEFAULT_CALENDAR
from alerts.reporting.forecast import build_forecast
from alerts.reporting.relevance import Counting
from alerts.reporting.reports import (
    Period,
    Report,
    build_report,
    current_month,
    parse_period,
    school_year_of,
)
from alerts.units.types import configured_targets
from api import labels
from api.deps import Principal, ReaderDep, SessionDep, SettingsDep
from api.report_export import STATUS_NAMES, UNIT_TYPES, sections, summary_lines, to_docx, to_xlsx
from api.schemas import ErrorOut
from api.svg import hbars
from api.templating import TEMPLATES
from core.geo.choice import province_code
from core.models import utcnow
from core.settings import Settings

router = APIRouter()
PeriodQ = Annotated[
    str | None,
    Query(max_length=20, description="2026-11 | 2026-2027:HK1 | 2026-2027:HK2 | 2026-2027"),
]
IncludeAll = Annotated[
    bool, Query(description="true: count every stored item, not only education items")
]
TITLE = "Báo cáo thông tin báo chí, dư luận về giáo dục"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportOut(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "period": "2026-11",
                    "label": "Tháng 11/2026",
                    "start": "2026-10-31T17:00:00Z",
                    "end": "2026-11-30T17:00:00Z",
                    "total": 120,
                    "by_topic": {"hoc_phi_thu_chi": 14},
                    "by_sentiment": {"tich_cuc": 30, "trung_tinh": 70, "tieu_cuc": 20},
                    "by_source": {"Báo Đà Nẵng": 40},
                    "by_unit": [{"unit_id": 3, "name": "Phòng GDĐT Hải Châu", "count": 5}],
                    "cases_by_status": {"closed": 4, "new": 1},
                    "cases_total": 5,
                    "responded": 4,
                    "response_hours_median": 3.5,
                    "response_hours_p90": 20.0,
                    "hot_cases": [],
                    "positive_targets": [],
                }
            ]
        }
    }
    period: str
    label: str
    start: datetime
    end: datetime
    total: int
    by_topic: dict[str, int]
    by_sentiment: dict[str, int]
    by_source: dict[str, int]
    by_unit: list[dict[str, Any]]
    cases_by_status: dict[str, int]
    cases_total: int
    responded: int
    response_hours_median: float | None
    response_hours_p90: float | None
    hot_cases: list[dict[str, Any]]
    positive_targets: list[dict[str, Any]]
    # By commune/ward of the Department's province, "ngoài tỉnh" apart, and by unit type.
    coverage: dict[str, Any] | None = None
    # The relevance from which items were counted; null when every stored item was.
    relevance_threshold: float | None = None
    # "Dự báo" as of the period's end: rising topics and coming school-calendar events.
    forecast: dict[str, Any] | None = None


def _report(
    session: Any, settings: Settings, who: Principal, code: str | None, include_all: bool = False
) -> Report:
    tz = ZoneInfo(settings.timezone)
    try:
        period: Period = parse_period(code or current_month(utcnow(), tz), tz)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    report = build_report(
        session,
        period,
        tz,
        targets=configured_targets(
            phong_gddt=settings.alerts.positive_target_phong_gddt,
            school=settings.alerts.positive_target_truong,
            overrides=settings.alerts.unit_targets,
        ),
        province=province_code(session, settings.province),
        unit_id=who.unit_scope,
        counting=Counting(settings.alerts.relevance_threshold, everything=include_all),
    )
    # As of the period's end (or now, for the running month): what was rising, what came next.
    report.forecast = build_forecast(
        session,
        min(period.end, utcnow()),
        tz,
        min_relevance=report.counting.min_relevance,
        calendar=settings.alerts.school_calendar or DEFAULT_CALENDAR,
    )
    return report


@router.get(
    "/api/v1/reports",
    response_model=ReportOut,
    tags=["reports"],
    responses={400: {"model": ErrorOut}},
)
def report_json(
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    period: PeriodQ = None,
    include_all: IncludeAll = False,
) -> Any:
    """Report figures for a month, semester or school year (default: this month); education
    items only unless include_all."""
    r = _report(session, settings, who, period, include_all)
    return {
        "period": r.period.code,
        "label": r.period.label,
        "start": r.period.start,
        "end": r.period.end,
        "total": r.total,
        "by_topic": dict(r.by_topic),
        "by_sentiment": dict(r.by_sentiment),
        "by_source": dict(r.by_source),
        "by_unit": [{"unit_id": u, "name": n, "count": c} for u, n, c in r.by_unit],
        "cases_by_status": r.cases_by_status,
        "cases_total": r.cases_total,
        "responded": r.responded,
        "response_hours_median": r.response_hours_median,
        "response_hours_p90": r.response_hours_p90,
        "hot_cases": [asdict(c) for c in r.hot_cases],
        "positive_targets": [{**asdict(t), "met": t.met} for t in r.positive_targets],
        "coverage": asdict(r.coverage) if r.coverage else None,
        "relevance_threshold": r.counting.min_relevance,
        "forecast": asdict(r.forecast) if r.forecast else None,
    }


def _download(content: bytes, media: str, name: str) -> Response:
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/api/v1/reports/report.docx",
    tags=["reports"],
    response_class=Response,
    responses={200: {"content": {DOCX: {}}}, 400: {"model": ErrorOut}},
)
def report_docx(
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    period: PeriodQ = None,
    include_all: IncludeAll = False,
) -> Response:
    """The report as a Word document (tables and a chart)."""
    r = _report(session, settings, who, period, include_all)
    data = to_docx(r, ZoneInfo(settings.timezone), title=TITLE)
    return _download(data, DOCX, f"bao-cao-{r.period.code.replace(':', '-')}.docx")


@router.get(
    "/api/v1/reports/report.xlsx",
    tags=["reports"],
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}, 400: {"model": ErrorOut}},
)
def report_xlsx(
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    period: PeriodQ = None,
    include_all: IncludeAll = False,
) -> Response:
    """The report as an Excel workbook (one sheet per breakdown, with charts)."""
    r = _report(session, settings, who, period, include_all)
    data = to_xlsx(r, ZoneInfo(settings.timezone), title=TITLE)
    return _download(data, XLSX, f"bao-cao-{r.period.code.replace(':', '-')}.xlsx")


def period_choices(now: datetime, tz: ZoneInfo) -> list[tuple[str, str]]:
    """Months of this and last school year, their semesters and the years, newest first."""
    year = school_year_of(now.astimezone(tz).date())
    out: list[tuple[str, str]] = []
    for sy in (year, year - 1):
        out.append((f"{sy}-{sy + 1}", f"Năm học {sy}–{sy + 1}"))
        out.append((f"{sy}-{sy + 1}:HK2", f"Học kỳ II {sy}–{sy + 1}"))
        out.append((f"{sy}-{sy + 1}:HK1", f"Học kỳ I {sy}–{sy + 1}"))
        for m in range(20, 8, -1):
            y, mm = (sy, m) if m <= 12 else (sy + 1, m - 12)
            if (y, mm) <= (now.year, now.month):
                out.append((f"{y}-{mm:02d}", f"Tháng {mm:02d}/{y}"))
    return out


@router.get("/bao-cao", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: ReaderDep,
    ky: PeriodQ = None,
    include_all: IncludeAll = False,
) -> HTMLResponse:
    """The report page: pick a period, read the charts (tables behind a toggle) and the
    forecast as of the period's end, download DOCX or XLSX."""
    tz = ZoneInfo(settings.timezone)
    try:
        r = _report(session, settings, who, ky, include_all)
    except HTTPException as exc:
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"message": exc.detail, "back": "/bao-cao"}, status_code=400
        )
    # The breakdowns read as bars; their tables stay behind "Xem dạng bảng".
    charted = {"Theo chủ đề", "Theo sắc thái", "Theo nguồn", "Theo đơn vị"}
    charts = {
        title: hbars([(str(row[0]), int(row[1])) for row in rows[:15]], title=title)
        for title, _, rows in sections(r, tz)
        if title in charted and rows
    }
    context = {
        "include_all": include_all,
        "forecast": r.forecast,
        "charts": charts,
        "report": r,
        "summary": summary_lines(r),
        "sections": sections(r, tz),
        "choices": period_choices(utcnow(), tz),
        "status_names": STATUS_NAMES,
        "unit_types": UNIT_TYPES,
        "labels": labels.ALL,
    }
    return TEMPLATES.TemplateResponse(request, "report.html", context)
