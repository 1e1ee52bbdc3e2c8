"""Turning query-string parameters into a SearchQuery, shared by the JSON API and the web page."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import taxonomy
from core.models import Source
from core.search.base import MAX_PAGE_SIZE, SearchQuery

TOPIC_CODES = set(taxonomy.TOPICS)
SENTIMENTS = set(taxonomy.SENTIMENTS)
RISKS = set(taxonomy.RISKS)
SCOPES = set(taxonomy.SCOPE_NAMES)
# Place codes of core.geo.data: a province's 2 digits or a commune's 5.
PLACE_RE = re.compile(r"\d{2}|\d{5}")
# A day as Vietnamese write it (the search page's date boxes): 5/9/2026, 05/09/2026.
DMY_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def _day(value: str) -> date | None:
    """A calendar day written dd/mm/yyyy or YYYY-MM-DD (None: not a bare day)."""
    if m := DMY_RE.fullmatch(value):
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return date.fromisoformat(value) if len(value) == 10 else None


def display_day(value: str | None) -> str:
    """A day as the search page shows it (dd/mm/yyyy); other text unchanged."""
    try:
        day = _day(value or "")
    except ValueError:
        return value or ""
    return day.strftime("%d/%m/%Y") if day else value or ""


def parse_when(value: str | None, *, end: bool, tz: ZoneInfo) -> datetime | None:
    """A date (whole local day, dd/mm/yyyy or YYYY-MM-DD) or an ISO datetime; else a clear 400."""
    if not value:
        return None
    try:
        if (day := _day(value.strip())) is not None:
            moment = datetime.combine(day, time.min, tz)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(
            400, f"Ngày giờ không hợp lệ: {value!r} (dùng dd/mm/yyyy, YYYY-MM-DD hoặc ISO 8601)."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _check(values: list[str], allowed: set[str], what: str) -> list[str]:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise HTTPException(400, f"Giá trị {what} không hợp lệ: {', '.join(bad)}.")
    return values


class SearchParams:
    """Query-string parameters of a search (a FastAPI dependency)."""

    def __init__(
        self,
        q: Annotated[str, Query(max_length=1000, description="Cú pháp tìm kiếm")] = "",
        date_from: Annotated[str | None, Query(alias="from", examples=["2026-11-01"])] = None,
        date_to: Annotated[str | None, Query(alias="to", examples=["2026-11-30"])] = None,
        source: Annotated[list[int], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        topic: Annotated[list[str], Query()] = [],  # noqa: B006
        sentiment: Annotated[list[str], Query()] = [],  # noqa: B006
        risk: Annotated[list[str], Query()] = [],  # noqa: B006
        unit: Annotated[list[int], Query()] = [],  # noqa: B006
        scope: Annotated[list[str], Query(description="Loại nguồn: national, local, social")] = [],  # noqa: B006
        place: Annotated[
            list[str], Query(description="Địa bàn: mã tỉnh (2 chữ số) hoặc xã, phường (5 chữ số)")
        ] = [],  # noqa: B006
        sort: Literal["relevance", "time"] = "relevance",
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
        facets: bool = True,
        histogram: Literal["day", "week", "month", "none"] = "day",
    ):
        self.q = q
        self.date_from, self.date_to = date_from, date_to
        self.source, self.unit = source, unit
        self.topic = _check(topic, TOPIC_CODES, "chủ đề")
        self.sentiment = _check(sentiment, SENTIMENTS, "sắc thái")
        self.risk = _check(risk, RISKS, "mức độ")
        self.scope = _check(scope, SCOPES, "loại nguồn")
        self.place = _check(place, {p for p in place if PLACE_RE.fullmatch(p)}, "địa bàn")
        self.sort, self.page, self.size = sort, page, size
        self.facets, self.histogram = facets, histogram

    def scope_to(self, principal: Any) -> SearchParams:
        """Limit a unit focal point's search to its unit's coverage (others unchanged)."""
        if getattr(principal, "role", None) == "unit_focal":
            # A focal point without a unit matches no unit id (ids start at 1).
            self.unit = [principal.unit_id or 0]
        return self

    def filters(self) -> dict[str, list[int] | list[str]]:
        """The filters in the shape of a Rule's `filters` (saved searches)."""
        values = {
            "topics": self.topic,
            "sentiments": self.sentiment,
            "risks": self.risk,
            "sources": self.source,
            "scopes": self.scope,
            "units": self.unit,
            "places": self.place,
        }
        return {k: v for k, v in values.items() if v}

    def source_ids(self, session: Session | None) -> list[int]:
        """The source filter with the scope filter folded in (sources of those scopes)."""
        if not self.scope or session is None:
            return self.source
        in_scope = session.scalars(select(Source.id).where(Source.scope.in_(self.scope))).all()
        ids = [i for i in in_scope if not self.source or i in self.source]
        # No source of that scope (or none left after the source filter): match nothing.
        return ids or [0]

    def to_query(self, timezone: str, session: Session | None = None) -> SearchQuery:
        """The backend-neutral query (`session` resolves the scope filter to sources)."""
        tz = ZoneInfo(timezone)
        return SearchQuery(
            q=self.q,
            date_from=parse_when(self.date_from, end=False, tz=tz),
            date_to=parse_when(self.date_to, end=True, tz=tz),
            sources=self.source_ids(session),
            topics=self.topic,
            sentiments=self.sentiment,
            risks=self.risk,
            units=self.unit,
            places=self.place,
            sort=self.sort,
            page=self.page,
            size=self.size,
            facets=self.facets,
            histogram=None if self.histogram == "none" else self.histogram,
        )
