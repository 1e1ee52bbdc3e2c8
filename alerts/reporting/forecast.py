"""Dự báo: what the news is turning to, for the dashboard and the monthly report.

Two kinds of line, each with the figures behind it:
- topics rising now: the last 7 days of education items per topic, in volume and in spread
  (distinct outlets), against the same window on comparable earlier days; "comparable" is the
  spike detector's own choice (alerts.detection.spikes.baseline_windows): inside a
  school-calendar period (thi vào 10, khai giảng...) its earlier days this year and last year,
  outside one the same weekdays of the last weeks, busy periods left out;
- what the coming weeks bring: school-calendar events under way or starting within six weeks
  (school_calendar.yaml), with what last year's archive held over the same dates.
bench/forecast.py replays the rising list week by week on stored data (precision@5)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection.spikes import DEFAULT_CALENDAR, SpikeConfig, baseline_windows, windows
from alerts.reporting.calendar import Dated, coming
from alerts.reporting.relevance import is_relevant, newest_classification
from core.models import Classification, Document
from core.taxonomy import TOPIC_NAMES

WINDOW = timedelta(days=7)
MIN_COUNT = 3  # fewer items in a week is noise, not a trend
MIN_RATIO = 1.3  # volume at least 30% over the usual to be "rising"
# (published_at, source id, topics) of one education item.
Item = tuple[datetime, int, list[str]]


@dataclass(frozen=True, slots=True)
class RisingTopic:
    topic: str
    label: str
    count: int  # items in the last 7 days
    sources: int  # distinct outlets among them
    usual: float  # mean items in comparable earlier windows
    usual_sources: float
    ratio: float
    evidence: str


@dataclass(frozen=True, slots=True)
class ComingEvent:
    code: str
    name: str
    first: date
    last: date
    topics: list[str]  # Vietnamese topic names
    brings: str
    last_year: int  # items on the event's topics over the same dates last year
    last_year_before: int  # ... and over as many days just before them
    evidence: str


@dataclass(slots=True)
class Forecast:
    as_of: datetime
    period: str | None  # the school-calendar period the comparison used, if any
    rising: list[RisingTopic] = field(default_factory=list)
    coming: list[ComingEvent] = field(default_factory=list)


def _num(x: float) -> str:
    return f"{x:.1f}".replace(".", ",").replace(",0", "")


def load_items(
    session: Session, start: datetime, end: datetime, *, min_relevance: float | None
) -> list[Item]:
    """Education items (at `min_relevance`; None: every item) published in (start, end]."""
    stmt = (
        select(Document.published_at, Document.source_id, Classification.topics)
        .join(Classification, Classification.id == newest_classification())
        .where(Document.published_at > start, Document.published_at <= end)
    )
    if min_relevance is not None:
        stmt = stmt.where(is_relevant(min_relevance))
    return [(at, src, list(topics or [])) for at, src, topics in session.execute(stmt)]


def _window(hits: list[tuple[datetime, int]], times: list[datetime], end: datetime) -> list[int]:
    """Outlets of the hits in (end - WINDOW, end], by bisection (a year is read per call)."""
    lo, hi = bisect_right(times, end - WINDOW), bisect_right(times, end)
    return [src for _, src in hits[lo:hi]]


def topic_stats(
    items: Sequence[Item],
    now: datetime,
    tz: ZoneInfo,
    *,
    calendar: Sequence[dict[str, str]] = DEFAULT_CALENDAR,
) -> tuple[dict[str, tuple[int, int, float, float]], str | None]:
    """Per topic: (items, outlets) in the 7 days to `now` and their means over the comparable
    earlier windows; and the school-calendar period the comparison used."""
    cfg = SpikeConfig(window=WINDOW)
    shifts, period = baseline_windows(now, tz, calendar, cfg)
    # Windows overlapping the current one would compare the rise with itself.
    shifts = [s for s in shifts if s >= WINDOW]
    by_topic: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for at, src, topics in items:
        for topic in topics:
            if topic != "khac":
                by_topic[topic].append((at, src))
    out = {}
    for topic, hits in by_topic.items():
        hits.sort()
        times = [at for at, _ in hits]
        now_hits = _window(hits, times, now)
        past = [_window(hits, times, now - s) for s in shifts]
        usual = sum(map(len, past)) / len(past) if past else 0.0
        usual_sources = sum(len(set(p)) for p in past) / len(past) if past else 0.0
        out[topic] = (len(now_hits), len(set(now_hits)), usual, usual_sources)
    return out, period["code"] if period else None


def surprise(count: float, usual: float) -> float:
    """Excess over the usual, scaled by its noise: 1 -> 4 is less sure than 10 -> 25."""
    return (count - usual) / (usual + 1) ** 0.5


def rising_topics(
    items: Sequence[Item],
    now: datetime,
    tz: ZoneInfo,
    *,
    calendar: Sequence[dict[str, str]] = DEFAULT_CALENDAR,
    limit: int = 5,
) -> tuple[list[RisingTopic], str | None]:
    """Topics whose last-7-day volume is well above their comparable windows, most first."""
    stats, code = topic_stats(items, now, tz, calendar=calendar)
    period = next((p for p in calendar if p["code"] == code), None)
    where = f"trong {period['name']}" if period else "cùng kỳ các tuần trước"
    out = []
    for topic, (count, sources, usual, usual_sources) in stats.items():
        ratio = (count + 1) / (usual + 1)
        if count < MIN_COUNT or ratio < MIN_RATIO:
            continue
        evidence = (
            f"{count} tin, bài từ {sources} nguồn trong 7 ngày qua; "
            f"thường {_num(usual)} tin từ {_num(usual_sources)} nguồn {where} "
            f"(gấp {_num(ratio)} lần)"
        )
        out.append(
            RisingTopic(
                topic,
                TOPIC_NAMES.get(topic, topic),
                count,
                sources,
                round(usual, 2),
                round(usual_sources, 2),
                round(ratio, 2),
                evidence,
            )  # fmt: skip
        )
    out.sort(key=lambda r: (-surprise(r.count, r.usual), r.label))
    return out[:limit], code


def _local_range(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(), tzinfo=tz)
    return start, datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)


def _count(items: Sequence[Item], topics: set[str], start: datetime, end: datetime) -> int:
    return sum(1 for at, _, t in items if start < at <= end and topics & set(t))


def coming_events(
    items: Sequence[Item], today: date, tz: ZoneInfo, *, weeks: int = 6
) -> list[ComingEvent]:
    """School-calendar events under way or due within `weeks`, with last year's figures
    (`items` must reach back over the same dates last year)."""
    out = []
    for dated in coming(today, weeks=weeks):
        out.append(_coming(items, dated, today, tz))
    return out


def _coming(items: Sequence[Item], dated: Dated, today: date, tz: ZoneInfo) -> ComingEvent:
    event = dated.event
    ago = dated.shifted(-1)
    start, end = _local_range(ago.first, ago.last, tz)
    topics = set(event.topics)
    last_year = _count(items, topics, start, end)
    before = _count(items, topics, start - (end - start), start)
    names = [TOPIC_NAMES[t] for t in event.topics]
    # The page shows the event's name, dates and topics; the evidence says when and why.
    when = (
        f"Đang diễn ra, đến {dated.last:%d/%m}"
        if dated.first <= today
        else f"Bắt đầu từ {dated.first:%d/%m} (còn {(dated.first - today).days} ngày)"
    )
    if last_year:
        evidence = (
            f"{when}. Cùng kỳ năm trước ({ago.first:%d/%m/%Y}–{ago.last:%d/%m/%Y}) "
            f"có {last_year} tin, bài về {', '.join(names)}"
            + (f", gấp {_num(last_year / before)} lần khoảng thời gian trước đó" if before else "")
            + f". Thường gặp: {event.brings}."
        )
    else:
        evidence = (
            f"{when}. Kho lưu trữ chưa có tin cùng kỳ năm trước; theo lịch năm "
            f"học, thường gặp: {event.brings}."
        )
    return ComingEvent(
        event.code, event.name, dated.first, dated.last, names, event.brings, last_year, before,
        evidence,
    )  # fmt: skip


def build_forecast(
    session: Session,
    now: datetime,
    tz: ZoneInfo,
    *,
    min_relevance: float | None,
    calendar: Sequence[dict[str, str]] = DEFAULT_CALENDAR,
    weeks: int = 6,
) -> Forecast:
    """The "Dự báo" block as of `now`: rising topics and what the coming weeks bring."""
    cfg = SpikeConfig(window=WINDOW)
    ranges = windows(now, tz, calendar, cfg)
    today = now.astimezone(tz).date()
    # Last year's dates of the coming events, and the stretch before them, are read too.
    start = min(ranges[0][0], datetime.combine(today - timedelta(days=365 + 200), time(), tz))
    items = load_items(session, start, now + timedelta(seconds=1), min_relevance=min_relevance)
    rising, period = rising_topics(items, now, tz, calendar=calendar)
    out = Forecast(as_of=now, period=period, rising=rising)
    out.coming = coming_events(items, today, tz, weeks=weeks)
    return out
