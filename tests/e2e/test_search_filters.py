"""The search page's filters in Chromium (issue 18): checkbox chips instead of ctrl+click
multi-selects, and dates typed and shown dd/mm/yyyy instead of the browser's mm/dd/yyyy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from core.search import get_backend
from core.search.indexer import index_all_pending
from core.settings import Settings
from tests.e2e.conftest import shot
from tests.e2e.repr_guard import assert_no_repr
from tests.factories import browser_login, make_document, make_source, make_user


def test_filters_are_chips_and_dates_read_day_first(
    server: str, session: Session, settings: Settings, page: Any
) -> None:
    # given documents on 3 and 20 November (local days), in two topics
    officer = make_user(session, "press_officer")
    source = make_source(session, "Báo Lọc Thử")
    early = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    late = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    make_document(
        session, source, "Học phí tăng đầu năm", published_at=early, topics=["hoc_phi_thu_chi"]
    )
    make_document(
        session, source, "Học phí được miễn", published_at=late, topics=["hoc_phi_thu_chi"]
    )
    make_document(
        session, source, "Học sinh đạt giải", published_at=late, topics=["thi_tuyen_sinh"]
    )
    session.commit()
    index_all_pending(session, get_backend(settings))
    browser_login(page, server, officer.username)
    page.goto(server + "/?q=h%E1%BB%8Dc")
    # then no multi-select is left: every filter is a set of checkboxes
    assert page.locator("form.search select[multiple]").count() == 0
    page.locator("details.filters summary").click()
    assert page.locator("fieldset.chips input[type=checkbox][name=topic]").count() >= 2
    # when two values of one filter are ticked with plain clicks, and a day range typed
    page.locator("label.chip", has_text="Học phí, thu chi").click()
    page.locator("label.chip", has_text="Thi cử, tuyển sinh").click()
    page.fill("input[name=from]", "20/11/2026")
    page.fill("input[name=to]", "30/11/2026")
    shot(page, "search-filters-chips")
    page.locator("form.search button[type=submit]").click()
    page.wait_for_load_state()
    # then both values are sent, the range is read day-first, and shown back as typed
    sent = parse_qs(urlsplit(page.url).query)
    assert sorted(sent["topic"]) == ["hoc_phi_thu_chi", "thi_tuyen_sinh"]
    text = page.locator("main").inner_text()
    assert "Học phí được miễn" in text and "Học sinh đạt giải" in text
    assert "Học phí tăng đầu năm" not in text
    assert page.input_value("input[name=from]") == "20/11/2026"
    assert page.input_value("input[name=to]") == "30/11/2026"
    assert page.locator("label.chip:has(input:checked)").count() == 2
    shot(page, "search-filters-result")
    assert_no_repr(page)
    # a day written YYYY-MM-DD in a link is shown dd/mm/yyyy too
    page.goto(server + "/?q=&from=2026-11-03")
    assert page.input_value("input[name=from]") == "03/11/2026"
