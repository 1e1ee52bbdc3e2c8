"""The school calendar the forecast reads (school_calendar.yaml): which stretches of the year
bring which topics to the news, placed on real dates around a given day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import yaml

from core.taxonomy import TOPIC_NAMES

CALENDAR_PATH = Path(__file__).with_name("school_calendar.yaml")


@dataclass(frozen=True, slots=True)
class SchoolEvent:
    """One stretch of the school year, as written in the calendar file."""

    code: str
    name: str
    start: str  # MM-DD
    end: str  # MM-DD (before start: runs across New Year)
    topics: tuple[str, ...]
    brings: str


@dataclass(frozen=True, slots=True)
class Dated:
    """An event placed on dates: [first, last], both local days."""

    event: SchoolEvent
    first: date
    last: date

    def shifted(self, years: int) -> Dated:
        """The same event `years` earlier (negative) or later."""
        return Dated(self.event, _year_shift(self.first, years), _year_shift(self.last, years))


def _year_shift(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29/02
        return day.replace(year=day.year + years, day=28)


@cache
def load_calendar(path: Path = CALENDAR_PATH) -> tuple[SchoolEvent, ...]:
    """Every event of the calendar file, checked (known topics, MM-DD dates)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    events = []
    for item in raw["events"]:
        for key in ("start", "end"):
            date.fromisoformat(f"2024-{item[key]}")  # MM-DD of a leap year, else ValueError
        unknown = set(item["topics"]) - set(TOPIC_NAMES)
        if unknown:
            raise ValueError(f"{path.name}: {item['code']}: unknown topics {sorted(unknown)}")
        events.append(
            SchoolEvent(
                item["code"],
                item["name"],
                item["start"],
                item["end"],
                tuple(item["topics"]),
                item["brings"],
            )
        )
    return tuple(events)


def _on(event: SchoolEvent, start_year: int) -> Dated:
    first = date.fromisoformat(f"{start_year}-{event.start}")
    end_year = start_year + 1 if event.end < event.start else start_year
    return Dated(event, first, date.fromisoformat(f"{end_year}-{event.end}"))


def coming(
    today: date, *, weeks: int = 6, events: tuple[SchoolEvent, ...] | None = None
) -> list[Dated]:
    """Events under way on `today` or starting within `weeks`, soonest first."""
    horizon = today + timedelta(weeks=weeks)
    out = []
    for event in events or load_calendar():
        for year in (today.year - 1, today.year, today.year + 1):
            dated = _on(event, year)
            if dated.last >= today and dated.first <= horizon:
                out.append(dated)
                break
    return sorted(out, key=lambda d: (max(d.first, today), d.first, d.event.code))
