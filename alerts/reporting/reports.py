"""The monthly coverage report (and per semester / school year), as pure functions over the DB.

Periods follow the school year: HK1 is September to January, HK2 February to May, the
school year September to August. Response time is Alert.created_at -> responded_at."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.reporting.coverage import Coverage, coverage
from alerts.reporting.forecast import Forecast
from alerts.reporting.relevance import Counting
from alerts.reporting.stats import (
    count_by,
    count_by_unit,
    load_documents,
    median,
    percentile,
    positive_by_unit,
)
from alerts.units.types import UNIT_TYPE_LIST, yearly_targets
from core.models import Alert, Unit, utcnow

HOT_SEVERITIES = ("high", "critical")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_RE = re.compile(r"^(\d{4})-(\d{4})(?::(HK1|HK2))?$")


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period: [start, end) in UTC, and the school year it belongs to."""

    code: str
    label: str
    start: datetime
    end: datetime
    school_year: int  # the year the school year starts (September)


def _local(year: int, month: int, tz: ZoneInfo) -> datetime:
    while month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=tz)


def parse_period(code: str, tz: ZoneInfo) -> Period:
    """'2026-11' (month), '2026-2027:HK1' / ':HK2' (semester), '2026-2027' (school year)."""
    code = (code or "").strip()
    if m := _MONTH_RE.match(code):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12 or not 2000 <= year <= 2100:
            raise ValueError(f"Tháng không hợp lệ: {code!r}.")
        return Period(
            code,
            f"Tháng {month:02d}/{year}",
            _local(year, month, tz),
            _local(year, month + 1, tz),
            year if month >= 9 else year - 1,
        )
    if m := _YEAR_RE.match(code):
        first, second, semester = int(m.group(1)), int(m.group(2)), m.group(3)
        if second != first + 1 or not 2000 <= first <= 2100:
            raise ValueError(f"Năm học không hợp lệ: {code!r} (ví dụ 2026-2027).")
        name = f"năm học {first}–{second}"
        if semester == "HK1":
            return Period(
                code, f"Học kỳ I {name}", _local(first, 9, tz), _local(first, 14, tz), first
            )
        if semester == "HK2":
            return Period(
                code, f"Học kỳ II {name}", _local(first, 14, tz), _local(first, 18, tz), first
            )
        return Period(code, name.capitalize(), _local(first, 9, tz), _local(first, 21, tz), first)
    raise ValueError(
        f"Kỳ báo cáo không hợp lệ: {code!r} (ví dụ 2026-11, 2026-2027:HK1, 2026-2027)."
    )


def current_month(now: datetime, tz: ZoneInfo) -> str:
    """The code of the month `now` falls in, local time."""
    local = now.astimezone(tz)
    return f"{local.year}-{local.month:02d}"


@dataclass(slots=True)
class CaseRow:
    id: int
    title: str
    severity: str
    status: str
    created_at: datetime
    responded_at: datetime | None
    response: str | None


@dataclass(slots=True)
class UnitTarget:
    unit_id: int
    name: str
    type: str
    positive: int
    target: int

    @property
    def met(self) -> bool:
        return self.positive >= self.target


@dataclass(slots=True)
class Report:
    """Every figure of one report."""

    period: Period
    generated_at: datetime
    total: int
    by_topic: list[tuple[str, int]]
    by_sentiment: list[tuple[str, int]]
    by_source: list[tuple[str, int]]
    by_unit: list[tuple[int, str, int]]
    cases_by_status: dict[str, int]
    cases_total: int
    response_hours_median: float | None
    response_hours_p90: float | None
    responded: int
    hot_cases: list[CaseRow] = field(default_factory=list)
    positive_targets: list[UnitTarget] = field(default_factory=list)
    coverage: Coverage | None = None
    counting: Counting = field(default_factory=Counting)  # education items only, or all
    forecast: Forecast | None = None


def positive_targets(
    session: Session,
    period: Period,
    tz: ZoneInfo,
    *,
    targets: Mapping[str, int],
    unit_id: int | None = None,
    min_relevance: float | None = None,
) -> list[UnitTarget]:
    """Positive articles per unit since the school year began, vs its type's yearly target
    (types with no target, such as the Sở itself, are left out)."""
    start = _local(period.school_year, 9, tz)
    counts = positive_by_unit(
        session, start, period.end, unit_id=unit_id, min_relevance=min_relevance
    )
    counted = [t for t, n in targets.items() if n > 0]
    stmt = select(Unit).where(Unit.active.is_(True), Unit.type.in_(counted))
    if unit_id is not None:
        stmt = stmt.where(Unit.id == unit_id)
    out = [
        UnitTarget(u.id, u.name, u.type, counts.get(u.id, 0), targets[u.type])
        for u in session.scalars(stmt)
    ]
    order = {t.code: i for i, t in enumerate(UNIT_TYPE_LIST)}
    return sorted(out, key=lambda t: (order.get(t.type, len(order)), t.name))


def build_report(
    session: Session,
    period: Period,
    tz: ZoneInfo,
    *,
    targets: Mapping[str, int] | None = None,
    province: str | None = None,
    unit_id: int | None = None,
    now: datetime | None = None,
    counting: Counting | None = None,
) -> Report:
    """Compute the report for `period` (only `unit_id`'s coverage and cases when given).

    `targets`: yearly positive articles per unit type (alerts.units.types defaults);
    `province`: the Department's 2025 province code, for coverage by commune."""
    how = counting or Counting()
    docs = load_documents(
        session, period.start, period.end, unit_id=unit_id, min_relevance=how.min_relevance
    )
    stmt = select(Alert).where(Alert.created_at >= period.start, Alert.created_at < period.end)
    if unit_id is not None:
        stmt = stmt.where(Alert.unit_id == unit_id)
    alerts = list(session.scalars(stmt.order_by(Alert.id)))
    hours = [
        (a.responded_at - a.created_at).total_seconds() / 3600
        for a in alerts
        if a.responded_at is not None and a.responded_at >= a.created_at
    ]
    hot = [a for a in alerts if a.severity in HOT_SEVERITIES or a.kind == "hot"]
    hot.sort(key=lambda a: (a.severity != "critical", -a.score, a.id))
    return Report(
        period=period,
        generated_at=now or utcnow(),
        total=len(docs),
        by_topic=count_by(docs, "topic"),
        by_sentiment=count_by(docs, "sentiment"),
        by_source=count_by(docs, "source"),
        by_unit=count_by_unit(session, docs),
        cases_by_status=dict(Counter(a.status for a in alerts)),
        cases_total=len(alerts),
        response_hours_median=median(hours),
        response_hours_p90=percentile(hours, 90),
        responded=len(hours),
        hot_cases=[
            CaseRow(a.id, a.title, a.severity, a.status, a.created_at, a.responded_at, a.response)
            for a in hot[:20]
        ],
        positive_targets=positive_targets(
            session,
            period,
            tz,
            targets=targets or yearly_targets(),
            unit_id=unit_id,
            min_relevance=how.min_relevance,
        ),
        coverage=coverage(session, docs, period.start, period.end, province=province),
        counting=how,
    )


def school_year_of(day: date) -> int:
    """The starting year of the school year `day` falls in."""
    return day.year if day.month >= 9 else day.year - 1
