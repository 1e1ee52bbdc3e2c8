"""Vietnamese press dates -> aware UTC: visible forms, ISO 8601, relative times, garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.connectors.rss import parse_feed
from crawlers.dates import parse_vn_datetime, read_vn_datetime

# 10:00 in Vietnam on Tuesday 21/11/2023.
NOW = datetime(2023, 11, 21, 3, 0, tzinfo=UTC)
# 08:15 in Vietnam on 20/11/2023.
MONDAY_0815 = datetime(2023, 11, 20, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "Thứ hai, 20/11/2023, 08:15 (GMT+7)",
        "Thứ Hai, 20/11/2023 | 08:15 GMT+7",
        "20-11-2023 08:15",
        "20/11/2023 - 08:15",
        "08:15 20/11/2023",
        "Cập nhật: 20/11/2023 08:15",
        "Đăng lúc 08h15 ngày 20/11/2023",
        "20.11.2023, 8:15",
        "20/11/23 08:15",
        "2023/11/20 08:15",
        "ngày 20 tháng 11 năm 2023 lúc 08:15",
        "20 tháng Mười Một, 2023 8:15",
        "20/11/2023 8:15 SA",
        "20/11/2023 01:15 (GMT+0)",
        "2023-11-20T08:15:00+07:00",
        "2023-11-20T01:15:00Z",
        "2023-11-20T01:15:00z",
        "2023-11-20 08:15:00+0700",
        "2023-11-20T08:15:00 +07:00",
        "2023-11-20T08:15:00",
        "2023-11-20T08:15",
        "  \n 20/11/2023\t08:15 \n",
    ],
)
def test_forms_of_one_moment(text: str) -> None:
    # given a moment written the ways Vietnamese sites write it
    # when
    parsed = parse_vn_datetime(text, now=NOW)
    # then
    assert parsed == MONDAY_0815
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20 tháng 11, 2023", datetime(2023, 11, 19, 17, 0, tzinfo=UTC)),
        ("2023-11-20", datetime(2023, 11, 19, 17, 0, tzinfo=UTC)),
        ("20/11/2023 08:15 CH", datetime(2023, 11, 20, 13, 15, tzinfo=UTC)),
        ("20/11/2023 12:05 SA", datetime(2023, 11, 19, 17, 5, tzinfo=UTC)),
        ("2023-11-20T08:15:00.250+07:00", datetime(2023, 11, 20, 1, 15, 0, 250000, tzinfo=UTC)),
        ("20/11/2023 08:15:30", datetime(2023, 11, 20, 1, 15, 30, tzinfo=UTC)),
    ],
)
def test_dates_without_time_and_clock_variants(text: str, expected: datetime) -> None:
    # given / when
    parsed = parse_vn_datetime(text, now=NOW)
    # then a date alone is local midnight; CH/SA are the afternoon/morning markers
    assert parsed == expected


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("vừa xong", timedelta(0)),
        ("Vừa xong", timedelta(0)),
        ("30 phút trước", timedelta(minutes=30)),
        ("2 giờ trước", timedelta(hours=2)),
        ("5 tiếng trước", timedelta(hours=5)),
        ("45 giây trước", timedelta(seconds=45)),
        ("3 ngày trước", timedelta(days=3)),
        ("1 tuần trước", timedelta(weeks=1)),
    ],
)
def test_relative_times(text: str, ago: timedelta) -> None:
    # given / when
    parsed = parse_vn_datetime(text, now=NOW)
    # then
    assert parsed == NOW - ago


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 14:30 in Vietnam yesterday (Monday 20/11).
        ("hôm qua 14:30", datetime(2023, 11, 20, 7, 30, tzinfo=UTC)),
        ("Hôm qua lúc 14h30", datetime(2023, 11, 20, 7, 30, tzinfo=UTC)),
        ("hôm nay 08:00", datetime(2023, 11, 21, 1, 0, tzinfo=UTC)),
        ("hôm kia", datetime(2023, 11, 18, 17, 0, tzinfo=UTC)),
    ],
)
def test_named_days_are_local_days(text: str, expected: datetime) -> None:
    # given / when
    parsed = parse_vn_datetime(text, now=NOW)
    # then
    assert parsed == expected


def test_named_days_follow_the_local_calendar_across_utc_midnight() -> None:
    # given 00:30 on 21/11 in Vietnam, still 20/11 in UTC
    now = datetime(2023, 11, 20, 17, 30, tzinfo=UTC)
    # when
    parsed = parse_vn_datetime("hôm qua 23:00", now=now)
    # then 23:00 on 20/11 local
    assert parsed == datetime(2023, 11, 20, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "Giáo dục",
        "31/02/2023 08:15",
        "20/13/2023",
        "25/11/2023 08:15",
        "2024-01-01T00:00:00+07:00",
        "20/11/1890",
        "Tin nóng",
        "99:99 20/11/2023x",
        "x" * 500,
    ],
)
def test_garbage_and_far_future_give_none(text: str | None) -> None:
    # given text that is no date, an impossible date, or more than a day ahead
    # when
    parsed = parse_vn_datetime(text, now=NOW)
    # then
    assert parsed is None


def test_less_than_a_day_ahead_is_kept() -> None:
    # given a page clock a few hours fast (wrong zone on the server)
    # when
    parsed = parse_vn_datetime("21/11/2023 20:00", now=NOW)
    # then
    assert parsed == datetime(2023, 11, 21, 13, 0, tzinfo=UTC)


def test_other_zone_for_local_times_and_naive_now() -> None:
    # given a site in UTC and a naive now (taken as UTC)
    # when
    parsed = parse_vn_datetime("20/11/2023 08:15", now=NOW.replace(tzinfo=None), tz="UTC")
    # then
    assert parsed == datetime(2023, 11, 20, 8, 15, tzinfo=UTC)


# 12:40 in Vietnam on Monday 07/12/2026, and a `now` an hour later.
DEC7_1240 = datetime(2026, 12, 7, 5, 40, tzinfo=UTC)
DEC7_NOW = datetime(2026, 12, 7, 6, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "Mon, 07 Dec 2026 12:40:00 GMT+7",
        "Mon, 07 Dec 2026 12:40:00 GMT+07:00",
        "Mon, 07 Dec 2026 12:40:00 +0700",
        "Mon, 07 Dec 2026 05:40:00 GMT",
        "Mon, 07 Dec 2026 05:40:00 UTC",
        "Mon, 07 Dec 2026 12:40:00 ICT",
        "Mon, 07 Dec 2026 00:40:00 EST",
        "07 December 2026 12:40 GMT+7",
        "Dec 7, 2026 12:40 PM GMT+7",
        "Thứ hai, 07/12/2026 - 12:40",
        "Thứ Hai, 07 Tháng 12 2026 12:40:00 +0700",
        "Thứ Hai, 07 Tháng Mười Hai 2026 12:40:00 +0700",
        "T2, 07 Th12 2026 12:40:00 +0700",
        "07 thg 12, 2026 12:40",
        "ngày 7 tháng 12 năm 2026 lúc 12:40",
    ],
)
def test_rfc822_and_vietnamese_feed_dates_parse(text: str) -> None:
    # given feed dates as RSS writes them: English or Vietnamese day/month names, GMT+7,
    # +0700, named zones
    # when
    reading = read_vn_datetime(text, now=DEC7_NOW)
    # then
    assert reading is not None, text
    assert reading.moment == DEC7_1240
    assert (reading.relative, reading.has_time) == (False, True)


@pytest.mark.parametrize(
    ("text", "relative", "has_time"),
    [("1 giờ trước", True, True), ("ngày 7 tháng 12 năm 2026", False, False)],
)
def test_reading_says_whether_time_was_relative_or_a_day_only(
    text: str, relative: bool, has_time: bool
) -> None:
    # when
    reading = read_vn_datetime(text, now=DEC7_NOW)
    # then a relative time and a bare day are told apart from a full byline time
    assert reading is not None
    assert (reading.relative, reading.has_time) == (relative, has_time)


@pytest.mark.parametrize(
    "pub_date",
    [
        "Mon, 07 Dec 2026 12:40:00 ICT",
        "2026-12-07 12:40:00 GMT+7",
        "T2, 07 Th12 2026 12:40:00 +0700",
        "Thứ hai, 07/12/2026 - 12:40",
    ],
)
def test_feed_items_dated_the_vietnamese_way_keep_their_moment(pub_date: str) -> None:
    # given a feed whose pubDate feedparser misreads (ICT as UTC, a spaced ISO date with
    # GMT+7 as midnight) or cannot read at all
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Báo thử'
        "</title><link>https://baomau.example.vn/</link><item><title>Tin giáo dục</title>"
        "<link>https://baomau.example.vn/tin-1.html</link>"
        f"<pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()
    # when
    out = parse_feed(feed, url="https://baomau.example.vn/rss", now=DEC7_NOW)
    # then the shared parser reads it as the page would
    assert out.items[0].published_at == DEC7_1240
