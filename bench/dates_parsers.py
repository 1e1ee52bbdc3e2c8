"""crawlers.dates against dateparser (PyPI, has Vietnamese) on the press and feed dates our
tests use: how many each reads right, and the time per date.

Run: .venv/bin/python bench/dates_parsers.py. Prints one line per parser, the choice last."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import dateparser

from crawlers.dates import parse_vn_datetime

# 10:00 in Vietnam on Tuesday 21/11/2023.
NOW = datetime(2023, 11, 21, 3, 0, tzinfo=UTC)
MOMENT = datetime(2023, 11, 20, 1, 15, tzinfo=UTC)  # 08:15 in Vietnam, Monday 20/11/2023
DAY = datetime(2023, 11, 19, 17, 0, tzinfo=UTC)  # that day, local midnight
CASES: list[tuple[str, datetime | None]] = [
    *(
        (text, MOMENT)
        for text in (
            "Thứ hai, 20/11/2023, 08:15 (GMT+7)",
            "Thứ Hai, 20/11/2023 | 08:15 GMT+7",
            "20-11-2023 08:15",
            "20/11/2023 - 08:15",
            "08:15 20/11/2023",
            "Cập nhật: 20/11/2023 08:15",
            "Đăng lúc 08h15 ngày 20/11/2023",
            "20.11.2023, 8:15",
            "20/11/23 08:15",
            "ngày 20 tháng 11 năm 2023 lúc 08:15",
            "20 tháng Mười Một, 2023 8:15",
            "20/11/2023 8:15 SA",
            "2023-11-20T08:15:00+07:00",
            "2023-11-20T01:15:00Z",
            "2023-11-20 08:15:00+0700",
            "Mon, 20 Nov 2023 08:15:00 GMT+7",
            "Mon, 20 Nov 2023 08:15:00 +0700",
            "Mon, 20 Nov 2023 01:15:00 GMT",
            "Mon, 20 Nov 2023 08:15:00 ICT",
            "Thứ Hai, 20 Tháng 11 2023 08:15:00 +0700",
            "T2, 20 Th11 2023 08:15:00 +0700",
            "20 thg 11, 2023 08:15",
            "Nov 20, 2023 8:15 AM GMT+7",
        )
    ),
    ("20 tháng 11, 2023", DAY),
    ("2023-11-20", DAY),
    ("2 giờ trước", NOW - timedelta(hours=2)),
    ("30 phút trước", NOW - timedelta(minutes=30)),
    ("hôm qua 14:30", datetime(2023, 11, 20, 7, 30, tzinfo=UTC)),
    ("vừa xong", NOW),
    ("31/02/2023 08:15", None),
    ("Giáo dục", None),
    ("20/11/2024 08:15", None),  # a year ahead: a wrong date, refused
]
ROUNDS = 20


def _ours(text: str) -> datetime | None:
    return parse_vn_datetime(text, now=NOW)


_DP_SETTINGS = {
    "TIMEZONE": "Asia/Ho_Chi_Minh",
    "TO_TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "DATE_ORDER": "DMY",
    "PREFER_DATES_FROM": "past",
    "RELATIVE_BASE": NOW.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=7),
}


def _dateparser(text: str) -> datetime | None:
    found = dateparser.parse(text, languages=["vi", "en"], settings=_DP_SETTINGS)
    if found is None:
        return None
    found = found.astimezone(UTC)
    # The same future rule as ours, so only reading is compared.
    return None if found > NOW + timedelta(days=1) else found


def _measure(name: str, parse) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    right = 0
    for text, expected in CASES:
        got = parse(text)
        # Relative times: within a minute (dateparser rounds to its own clock).
        ok = (
            got is None
            if expected is None
            else got is not None and abs(got - expected) < timedelta(minutes=1)
        )
        right += ok
        if not ok:
            print(f"  {name} wrong: {text!r} -> {got}")
    parse(CASES[0][0])  # warm caches (dateparser loads its language data on first use)
    # CPU time: the machine is shared, and wall time would measure the neighbours.
    start = time.process_time()
    for _ in range(ROUNDS):
        for text, _expected in CASES:
            parse(text)
    per_date = (time.process_time() - start) / (ROUNDS * len(CASES))
    return right, per_date


def main() -> None:
    results = {
        name: _measure(name, fn)
        for name, fn in (("crawlers.dates", _ours), ("dateparser", _dateparser))
    }
    for name, (right, per_date) in results.items():
        print(f"{name}: {right}/{len(CASES)} right, {per_date * 1e6:.0f} µs CPU per date")
    ours, theirs = results["crawlers.dates"], results["dateparser"]
    print(
        f"dates: crawlers.dates {ours[0]}/{len(CASES)} at {ours[1] * 1e6:.0f} µs, "
        f"dateparser {theirs[0]}/{len(CASES)} at {theirs[1] * 1e6:.0f} µs per date"
    )


if __name__ == "__main__":
    main()
