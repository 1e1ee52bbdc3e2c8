"""Dates in search parameters: dd/mm/yyyy as the search page's boxes take them (issue 18)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi import HTTPException

from api.search_params import display_day, parse_when

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_day_first_dates_are_whole_local_days() -> None:
    assert parse_when("05/09/2026", end=False, tz=HCM) == datetime(2026, 9, 5, tzinfo=HCM)
    assert parse_when("5/9/2026", end=True, tz=HCM) == datetime(
        2026, 9, 5, 23, 59, 59, 999999, tzinfo=HCM
    )
    # the ISO forms keep working (API clients, old links)
    assert parse_when("2026-09-05", end=False, tz=HCM) == datetime(2026, 9, 5, tzinfo=HCM)


@pytest.mark.parametrize("bad", ["13/13/2026", "31/02/2026", "09/05/26", "5-9-2026"])
def test_impossible_days_are_refused_clearly(bad: str) -> None:
    with pytest.raises(HTTPException) as err:
        parse_when(bad, end=False, tz=HCM)
    assert err.value.status_code == 400 and "dd/mm/yyyy" in str(err.value.detail)


def test_days_are_shown_day_first() -> None:
    assert display_day("2026-09-05") == "05/09/2026"
    assert display_day("5/9/2026") == "05/09/2026"
    assert display_day("") == "" and display_day(None) == ""
    assert display_day("hôm qua") == "hôm qua"
