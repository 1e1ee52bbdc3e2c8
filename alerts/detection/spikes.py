"""Spikes: far more documents than usual about one topic, one unit or one rule.

The last `window` is compared with the same window on earlier days that are alike: outside
the school calendar's busy periods, the same weekday over the last weeks (Monday is busier
than Sunday); inside a period (khai giảng, thi vào 10, ...), earlier days of the same period,
this year and last, so the yearly exam rush does not page anyone. One alert per
(dimension, key, local day)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.models import Alert, AlertEvent, Classification, Document, DocumentUnit, Rule, Unit
from core.taxonomy import TOPIC_NAMES

# (code, Vietnamese name, first day "MM-DD", last day "MM-DD"); first match wins.
DEFAULT_CALENDAR: tuple[dict[str, str], ...] = (
    {"code": "khai_giang", "name": "dịp khai giảng", "start": "08-28", "end": "09-10"},
    {"code": "thi_vao_10", "name": "kỳ thi vào lớp 10", "start": "06-01", "end": "06-19"},
    {"code": "thi_tot_nghiep", "name": "kỳ thi tốt nghiệp THPT", "start": "06-20", "end": "07-05"},
    {
        "code": "thu_chi_dau_nam",
        "name": "đợt thu chi đầu năm học",
        "start": "09-11",
        "end": "10-31",
    },
)
WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
DIMENSION_NAMES = {"topic": "Chủ đề", "unit": "Đơn vị", "rule": "Quy tắc"}


@dataclass(frozen=True, slots=True)
class SpikeConfig:
    """Thresholds: all of them must hold for a spike."""

    window: timedelta = timedelta(hours=24)
    weeks: int = 8
    min_count: int = 5
    min_ratio: float = 2.5
    min_z: float = 3.0
    min_samples: int = 3


@dataclass(frozen=True, slots=True)
class Spike:
    """One flagged (dimension, key) with its numbers and Vietnamese message."""

    dimension: str
    key: str
    label: str
    count: int
    mean: float
    std: float
    ratio: float
    z: float
    samples: int
    period: str | None
    message: str


def period_of(day: date, calendar: Sequence[dict[str, str]]) -> dict[str, str] | None:
    """The school-calendar period a local day falls in, if any."""
    mmdd = day.strftime("%m-%d")
    for p in calendar:
        if p["start"] <= mmdd <= p["end"]:
            return p
    return None


def baseline_windows(
    now: datetime, tz: ZoneInfo, calendar: Sequence[dict[str, str]], cfg: SpikeConfig
) -> tuple[list[timedelta], dict[str, str] | None]:
    """How far back each comparable window lies, and the period `now` falls in."""
    today = now.astimezone(tz).date()
    period = period_of(today, calendar)
    shifts: list[timedelta] = []
    if period is None:
        for week in range(1, cfg.weeks + 1):
            shift = timedelta(days=7 * week)
            # Busy periods are not "usual": they would hide next week's real spike.
            if period_of(today - shift, calendar) is None:
                shifts.append(shift)
        return shifts, period
    # Inside a period: its own earlier days this year, and the same days last year.
    for days in range(1, 60):
        if period_of(today - timedelta(days=days), calendar) is period:
            shifts.append(timedelta(days=days))
    for days in range(365 - 30, 365 + 31):
        if period_of(today - timedelta(days=days), calendar) is period:
            shifts.append(timedelta(days=days))
    return shifts, period


def _vn_number(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")


def describe(
    dimension: str, label: str, count: int, mean: float, ratio: float, now: datetime,
    tz: ZoneInfo, period: dict[str, str] | None, window: timedelta,
) -> str:  # fmt: skip
    """The alert title, e.g. '... tăng gấp 3,2 lần so với mức thường ngày thứ Hai'."""
    usual = (
        f"mức thường ngày trong {period['name']}"
        if period
        else f"mức thường ngày {WEEKDAYS[now.astimezone(tz).weekday()]}"
    )
    hours = int(window.total_seconds() // 3600)
    return (
        f"{DIMENSION_NAMES.get(dimension, dimension)} «{label}»: {count} bài trong {hours} giờ "
        f"qua, tăng gấp {_vn_number(ratio)} lần so với {usual} ({_vn_number(mean)} bài)"
    )


def find_spikes(
    events: dict[tuple[str, str], list[datetime]],
    labels: dict[tuple[str, str], str],
    now: datetime,
    *,
    tz: ZoneInfo,
    calendar: Sequence[dict[str, str]] = DEFAULT_CALENDAR,
    cfg: SpikeConfig | None = None,
) -> list[Spike]:
    """Spikes among (dimension, key) -> document times, as of `now`."""
    cfg = cfg or SpikeConfig()
    shifts, period = baseline_windows(now, tz, calendar, cfg)
    out = []
    for (dimension, key), times in sorted(events.items()):
        current = sum(now - cfg.window < t <= now for t in times)
        if current < cfg.min_count or len(shifts) < cfg.min_samples:
            continue
        counts = [sum(now - s - cfg.window < t <= now - s for t in times) for s in shifts]
        mean = sum(counts) / len(counts)
        std = math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))
        # Floors keep a quiet history (0, 0, 0) from turning one article into a spike.
        ratio = current / max(mean, 1.0)
        z = (current - mean) / max(std, math.sqrt(max(mean, 1.0)))
        if ratio < cfg.min_ratio or z < cfg.min_z:
            continue
        label = labels.get((dimension, key), key)
        message = describe(dimension, label, current, mean, ratio, now, tz, period, cfg.window)
        out.append(
            Spike(
                dimension,
                key,
                label,
                current,
                round(mean, 2),
                round(std, 2),
                round(ratio, 2),
                round(z, 2),
                len(counts),
                period["code"] if period else None,
                message,
            )  # fmt: skip
        )
    return out


def windows(
    now: datetime, tz: ZoneInfo, calendar: Sequence[dict[str, str]], cfg: SpikeConfig
) -> list[tuple[datetime, datetime]]:
    """The (start, end] ranges worth reading: the current window and its baselines, merged."""
    shifts, _ = baseline_windows(now, tz, calendar, cfg)
    ranges = sorted((now - s - cfg.window, now - s) for s in [timedelta(0), *shifts])
    merged: list[tuple[datetime, datetime]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _within(column: Any, ranges: list[tuple[datetime, datetime]]) -> Any:
    return or_(*(and_(column > start, column <= end) for start, end in ranges))


def collect_events(
    session: Session, ranges: list[tuple[datetime, datetime]]
) -> tuple[dict[tuple[str, str], list[datetime]], dict[tuple[str, str], str]]:
    """Document times per (topic|unit|rule, key) published within the ranges."""
    start, end = ranges[0][0], ranges[-1][1]
    events: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    labels: dict[tuple[str, str], str] = {}
    latest: dict[str, tuple[int, datetime, list[Any]]] = {}
    rows = session.execute(
        select(Document.id, Document.published_at, Classification.id, Classification.topics)
        .join(Classification, Classification.document_id == Document.id)
        .where(_within(Document.published_at, ranges))
    )
    for doc_id, at, cls_id, topics in rows:
        if doc_id not in latest or latest[doc_id][0] < cls_id:
            latest[doc_id] = (cls_id, at, topics or [])
    for _, at, topics in latest.values():
        for topic in topics:
            events[("topic", topic)].append(at)
            labels[("topic", topic)] = TOPIC_NAMES.get(topic, topic)
    unit_rows = session.execute(
        select(DocumentUnit.unit_id, Unit.name, Document.published_at)
        .join(Document, Document.id == DocumentUnit.document_id)
        .join(Unit, Unit.id == DocumentUnit.unit_id)
        .where(_within(Document.published_at, ranges))
    )
    for unit_id, name, at in unit_rows:
        if at is None:
            continue
        events[("unit", str(unit_id))].append(at)
        labels[("unit", str(unit_id))] = name
    # Rule hits live on their alerts (one per rule and story), as document ids.
    hits: dict[str, set[int]] = defaultdict(set)
    names: dict[int, str] = {}
    for alert in session.scalars(
        select(Alert).where(Alert.kind == "rule", Alert.updated_at >= start)
    ):
        if alert.rule_id is None:
            continue
        for doc_id in alert.details.get("documents", []):
            hits[doc_id].add(alert.rule_id)
    for rule in session.scalars(select(Rule)):
        names[rule.id] = rule.name
    ids = list(hits)
    for chunk in range(0, len(ids), 500):
        for doc_id, at in session.execute(
            select(Document.id, Document.published_at).where(
                Document.id.in_(ids[chunk : chunk + 500])
            )
        ):
            if at is None or at < start or at > end:
                continue
            for rule_id in hits[doc_id]:
                events[("rule", str(rule_id))].append(at)
                labels[("rule", str(rule_id))] = names.get(rule_id, str(rule_id))
    return events, labels


def detect(
    session: Session,
    now: datetime,
    *,
    tz: ZoneInfo,
    calendar: Sequence[dict[str, str]] = DEFAULT_CALENDAR,
    cfg: SpikeConfig | None = None,
) -> list[Alert]:
    """Open one spike alert per (dimension, key, local day) found now; returns new alerts.

    A spike already flagged today only has its numbers refreshed (no second alert)."""
    cfg = cfg or SpikeConfig()
    events, labels = collect_events(session, windows(now, tz, calendar, cfg))
    day = now.astimezone(tz).date().isoformat()
    existing = {
        (a.details.get("dimension"), a.details.get("key")): a
        for a in session.scalars(
            select(Alert).where(Alert.kind == "spike", Alert.created_at >= now - timedelta(days=2))
        )
        if a.details.get("day") == day
    }
    created = []
    for spike in find_spikes(events, labels, now, tz=tz, calendar=calendar, cfg=cfg):
        details = {
            "dimension": spike.dimension, "key": spike.key, "label": spike.label, "day": day,
            "count": spike.count, "baseline_mean": spike.mean, "baseline_std": spike.std,
            "ratio": spike.ratio, "z": spike.z, "samples": spike.samples,
            "period": spike.period, "window_hours": cfg.window.total_seconds() / 3600,
            "message": spike.message,
        }  # fmt: skip
        alert = existing.get((spike.dimension, spike.key))
        if alert is not None:
            if spike.count > int(alert.details.get("count", 0)):
                alert.details, alert.title, alert.updated_at = details, spike.message, now
                alert.score = spike.ratio
            continue
        alert = Alert(
            kind="spike",
            title=spike.message,
            severity="high" if spike.ratio >= 5 else "medium",
            score=spike.ratio,
            unit_id=int(spike.key) if spike.dimension == "unit" else None,
            rule_id=int(spike.key) if spike.dimension == "rule" else None,
            details=details,
            created_at=now,
            updated_at=now,
        )
        session.add(alert)
        session.flush()
        session.add(AlertEvent(alert_id=alert.id, kind="created", at=now, data=details))
        created.append(alert)
    return created
