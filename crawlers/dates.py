"""Publish times as Vietnamese news sites write them -> timezone-aware UTC datetimes.

Handles the visible forms ("Thứ hai, 20/11/2023, 08:15 (GMT+7)", "20-11-2023 08:15",
"08:15 20/11/2023", "20 tháng 11, 2023", "T2, 20 Th11 2023"), ISO 8601 from meta tags and
JSON-LD, RFC 822 from feeds ("Mon, 20 Nov 2023 08:15:00 +0700", "... GMT+7", "... ICT") and
relative times ("2 giờ trước", "hôm qua 14:30", "vừa xong"). Times without a zone are local.
RSS items go through this parser too (crawlers.connectors.rss), so a feed and the page of the
same article read one moment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["MAX_FUTURE", "DateReading", "parse_vn_datetime", "read_vn_datetime"]

# Sites run a few hours ahead now and then (wrong zone, scheduled posts); beyond a day the
# date is wrong, and a wrong date is worse than none (it would sort first for a week).
MAX_FUTURE = timedelta(days=1)
# Nothing older than the web itself is a publish time; it is a parse of something else.
MIN_YEAR = 1990

_ISO_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
    r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
# Day first, as Vietnamese writes dates: 20/11/2023, 20-11-2023, 20.11.2023, 20/11/23.
_DMY_RE = re.compile(r"(?<![\d/.-])(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})(?![\d/.-])")
# Year first (ISO-like dates embedded in text): 2023-11-20, 2023/11/20.
_YMD_RE = re.compile(r"(?<![\d/.-])(\d{4})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?![\d/.-])")
_MONTH_WORDS = {
    "một": 1, "giêng": 1, "hai": 2, "ba": 3, "tư": 4, "bốn": 4, "năm": 5, "sáu": 6, "bảy": 7,
    "tám": 8, "chín": 9, "mười": 10, "mười một": 11, "mười hai": 12, "chạp": 12,
}  # fmt: skip
_MONTH_WORD_RE = "|".join(sorted(map(re.escape, _MONTH_WORDS), key=len, reverse=True))
# "20 tháng 11, 2023", "ngày 20 tháng 11 năm 2023", "20 tháng Mười Một 2023", and the
# abbreviations of Vietnamese-locale feeds and widgets: "20 Th11 2023", "20 thg 11, 2023".
_WORD_DATE_RE = re.compile(
    rf"(?<!\d)(\d{{1,2}})\s+(?:tháng|thg\.?|th\.?)\s*(\d{{1,2}}|{_MONTH_WORD_RE})\s*(?:,|năm)?\s*"
    r"(\d{4})(?!\d)",
    re.IGNORECASE,
)
_EN_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# RFC 822 and English templates: "20 Nov 2023", "20 November, 2023", "Nov 20, 2023".
_EN_DATE_RE = re.compile(
    r"(?<!\d)(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})(?!\d)",
    re.IGNORECASE,
)
_EN_MDY_RE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})(?!\d)",
    re.IGNORECASE,
)
# 08:15, 8:15:30, 08h15, 8:15 SA/CH (the Vietnamese Windows locale's AM/PM).
_TIME_RE = re.compile(
    r"(?<![\d:])(\d{1,2})\s*(?::|h|giờ)\s*(\d{2})(?::(\d{2}))?(?:\s*(sa|ch|am|pm)\b)?(?![\d:])",
    re.IGNORECASE,
)
_OFFSET_RE = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_TRAILING_OFFSET_RE = re.compile(r"(?<=\d)\s*([+-])(\d{2}):?(\d{2})\b")
# RFC 822's named zones, and ICT (Indochina Time), which Vietnamese feeds write.
_ZONE_NAMES = {
    "gmt": 0, "ut": 0, "utc": 0, "z": 0, "ict": 7,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip
_ZONE_NAME_RE = re.compile(r"(?<![\w+-])(" + "|".join(_ZONE_NAMES) + r")(?![\w+-])", re.I)
_RELATIVE_RE = re.compile(
    r"(\d+)\s*(giây|phút|giờ|tiếng|ngày|tuần|tháng|năm)\s*trước", re.IGNORECASE
)
_RELATIVE_UNITS = {
    "giây": timedelta(seconds=1),
    "phút": timedelta(minutes=1),
    "giờ": timedelta(hours=1),
    "tiếng": timedelta(hours=1),
    "ngày": timedelta(days=1),
    "tuần": timedelta(weeks=1),
    # Calendar months and years vary; for "3 tháng trước" a day's error does not matter.
    "tháng": timedelta(days=30),
    "năm": timedelta(days=365),
}
_JUST_NOW = ("vừa xong", "vừa đăng", "vừa cập nhật", "just now")
_DAY_WORDS = (("hôm nay", 0), ("hôm qua", 1), ("hôm kia", 2))


@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == "Asia/Ho_Chi_Minh":
            # Vietnam has kept UTC+7 without daylight saving since 1975.
            return timezone(timedelta(hours=7))
        raise


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _checked(moment: datetime, now: datetime) -> datetime | None:
    moment = moment.astimezone(UTC)
    if moment > now + MAX_FUTURE or moment.year < MIN_YEAR:
        return None
    return moment


def _parse_iso(text: str, zone: tzinfo) -> datetime | None:
    if not _ISO_RE.fullmatch(text):
        return None
    # fromisoformat wants 'T', no spaces, a '.' before fractions and an upper-case 'Z'.
    value = text[:10] + text[10:].replace(" ", "T", 1) if len(text) > 10 else text
    value = value.replace(" ", "").replace(",", ".").upper()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _year(raw: str) -> int:
    # Two-digit years on news sites are always this century.
    return 2000 + int(raw) if len(raw) == 2 else int(raw)


def _find_date(text: str) -> tuple[date, tuple[int, int]] | None:
    """The calendar date in `text` and the span it occupies."""
    for regex in (_WORD_DATE_RE, _EN_DATE_RE, _EN_MDY_RE, _DMY_RE, _YMD_RE):
        m = regex.search(text)
        if m is None:
            continue
        try:
            if regex is _WORD_DATE_RE:
                raw_month = m.group(2).lower()
                month = int(raw_month) if raw_month.isdigit() else _MONTH_WORDS[raw_month]
                found = date(int(m.group(3)), month, int(m.group(1)))
            elif regex is _EN_DATE_RE:
                found = date(int(m.group(3)), _EN_MONTHS[m.group(2).lower()], int(m.group(1)))
            elif regex is _EN_MDY_RE:
                found = date(int(m.group(3)), _EN_MONTHS[m.group(1).lower()], int(m.group(2)))
            elif regex is _DMY_RE:
                found = date(_year(m.group(4)), int(m.group(3)), int(m.group(1)))
            else:
                found = date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        except (ValueError, KeyError):
            # 31/02 and friends: not a date, and no other reading would be trustworthy.
            return None
        return found, m.span()
    return None


def _find_offset(text: str) -> tuple[tzinfo, tuple[int, int]] | None:
    m = _OFFSET_RE.search(text) or _TRAILING_OFFSET_RE.search(text)
    if m is None:
        named = _ZONE_NAME_RE.search(text)
        if named is None:
            return None
        return timezone(timedelta(hours=_ZONE_NAMES[named.group(1).lower()])), named.span()
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if m.group(1) == "-" else delta), m.span()


def _find_time(text: str) -> time | None:
    m = _TIME_RE.search(text)
    if m is None:
        return None
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    marker = (m.group(4) or "").lower()
    if marker in ("ch", "pm") and hour < 12:
        hour += 12
    elif marker in ("sa", "am") and hour == 12:
        hour = 0
    # An impossible clock (99:99) raises: the caller gives up rather than guess midnight.
    return time(hour, minute, second)


def _blank(text: str, span: tuple[int, int]) -> str:
    start, end = span
    return text[:start] + " " * (end - start) + text[end:]


def _parse_relative(lower: str, now: datetime, zone: tzinfo) -> datetime | None:
    if any(phrase in lower for phrase in _JUST_NOW):
        return now
    m = _RELATIVE_RE.search(lower)
    if m is not None:
        return now - int(m.group(1)) * _RELATIVE_UNITS[m.group(2)]
    for phrase, days_back in _DAY_WORDS:
        if phrase in lower:
            day = now.astimezone(zone).date() - timedelta(days=days_back)
            # "hôm qua" alone: the day is known, the hour is not; midnight keeps the day right.
            try:
                clock = _find_time(lower.replace(phrase, " ")) or time(0, 0)
            except ValueError:
                return None
            return datetime.combine(day, clock, tzinfo=zone)
    return None


@dataclass(frozen=True)
class DateReading:
    """A parsed publish time and how much the text said."""

    moment: datetime
    # Computed from `now` ("2 giờ trước", "hôm qua"): approximate by nature.
    relative: bool = False
    # The text gave a clock time, not only a day (a day alone reads as local midnight).
    has_time: bool = True


def read_vn_datetime(
    text: str | None, *, now: datetime, tz: str = "Asia/Ho_Chi_Minh"
) -> DateReading | None:
    """Parse like parse_vn_datetime, saying also whether the time was relative or a day only."""
    if not text:
        return None
    text = " ".join(text.split())
    if not text or len(text) > 200:
        return None
    now = _aware(now)
    zone = _zone(tz)

    iso = _parse_iso(text, zone)
    if iso is not None:
        checked = _checked(iso, now)
        return DateReading(checked, has_time=len(text) > 10) if checked is not None else None

    lower = text.lower()
    found = _find_date(lower)
    if found is None:
        relative = _parse_relative(lower, now, zone)
        checked = _checked(relative, now) if relative is not None else None
        return DateReading(checked, relative=True) if checked is not None else None

    day, span = found
    rest = _blank(lower, span)
    moment_zone: tzinfo = zone
    offset = _find_offset(rest)
    if offset is not None:
        moment_zone, offset_span = offset
        rest = _blank(rest, offset_span)
    try:
        clock = _find_time(rest)
    except ValueError:
        return None
    checked = _checked(datetime.combine(day, clock or time(0, 0), tzinfo=moment_zone), now)
    return DateReading(checked, has_time=clock is not None) if checked is not None else None


def parse_vn_datetime(
    text: str | None, *, now: datetime, tz: str = "Asia/Ho_Chi_Minh"
) -> datetime | None:
    """Parse a Vietnamese press date/time; aware UTC, or None when unparseable or > 1 day ahead.

    `now` anchors relative forms ("2 giờ trước") and the future check; `tz` is the zone of
    times written without one."""
    reading = read_vn_datetime(text, now=now, tz=tz)
    return reading.moment if reading is not None else None
