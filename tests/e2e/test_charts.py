"""Dashboard and report as a press officer reads them in Chromium: charts with legible labels
(>= 12 px rendered, on a desktop and a phone), dates dd/mm, tables only behind "Xem dạng
bảng", the count of education items with its threshold, and the "Dự báo" block with its
evidence. Screenshots: test-artifacts/tong-quan-*.png, bao-cao-*.png."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.models import utcnow
from tests.e2e.conftest import shot
from tests.e2e.repr_guard import assert_no_repr
from tests.factories import browser_login, make_document, make_source, make_user

TOPICS = ["hoc_phi_thu_chi", "nha_giao", "day_them", "an_toan_suc_khoe"]
SENTIMENTS = ["tieu_cuc", "trung_tinh", "tich_cuc"]


def _seed(session: Session) -> str:
    """Four weeks of usual coverage, a tuition jump this week, unrelated news, last year."""
    now = utcnow()
    outlets = [make_source(session, f"Báo Giáo dục Tỉnh {i}") for i in range(5)]
    k = 0
    for day in range(1, 29):
        for topic in TOPICS:
            k += 1
            make_document(session, outlets[k % 2], f"Tin {topic} ngày {day}",
                          published_at=now - timedelta(days=day, hours=3), topics=[topic],
                          sentiment=SENTIMENTS[k % 3])  # fmt: skip
    for i in range(12):  # this week: tuition on five outlets
        make_document(session, outlets[i % 5], f"Phụ huynh hỏi về khoản thu mới {i}",
                      published_at=now - timedelta(hours=2 + 9 * i), topics=["hoc_phi_thu_chi"],
                      sentiment="tieu_cuc")  # fmt: skip
    for i in range(20):  # unrelated news the crawl keeps
        make_document(session, outlets[4], f"Giá vàng phiên {i}", relevance=0.1,
                      published_at=now - timedelta(hours=5 * i))  # fmt: skip
    for i in range(8):  # last year around these weeks
        make_document(session, outlets[3], f"Năm ngoái {i}", topics=["thi_tuyen_sinh"],
                      published_at=now - timedelta(days=365 - 3 * i))  # fmt: skip
    user = make_user(session, "press_officer", username="lehoa", full_name="Lê Thị Hoa")
    session.commit()
    return user.username


def _check_charts(page: Any) -> None:
    sizes = page.eval_on_selector_all(
        "svg.chart text",
        "els => els.filter(e => getComputedStyle(e).display !== 'none')"
        ".map(e => [parseFloat(getComputedStyle(e).fontSize),"
        " e.getBoundingClientRect().height, e.textContent])",
    )
    assert sizes, "no chart text"
    small = [(f, h, t) for f, h, t in sizes if f < 12 or h < 12]
    assert not small, small[:5]
    # the date ticks shown do not run into each other (a phone shows every other one)
    boxes = page.eval_on_selector_all(
        "svg.timechart text.tick",
        "els => els.filter(e => getComputedStyle(e).display !== 'none')"
        ".map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })",
    )
    boxes.sort()
    assert all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
    # tables are behind their toggle, not repeated under each chart
    for table in page.locator("details.as-table table").all():
        assert not table.is_visible()


def test_dashboard_reads_at_a_glance(server: str, session: Session, page: Any) -> None:
    username = _seed(session)
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_login(page, server, username)
    page.goto(server + "/tong-quan?days=30")
    body = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    # education items only, threshold shown; 112 usual + 12 this week, the 20 others left out
    total = 4 * 28 + 12
    assert f"{total} tin, bài trong 30 ngày gần nhất." in body
    assert "độ liên quan từ 0,50 trở lên" in body
    _check_charts(page)
    ticks = page.eval_on_selector_all(
        "svg.timechart text.axis", "els => els.map(e => e.textContent)"
    )
    assert any(re.fullmatch(r"\d{2}/\d{2}", t) for t in ticks), ticks
    # the forecast names the rising topic with its evidence
    forecast = page.locator("section.forecast").inner_text()
    assert "Dự báo" in forecast and "Học phí, thu chi" in forecast
    assert re.search(r"\d+ tin, bài từ 5 nguồn trong 7 ngày qua", forecast), forecast
    assert "Những tuần tới" in forecast
    assert_no_repr(page, "/tong-quan")
    shot(page, "tong-quan-du-bao")
    page.locator("details.as-table summary").first.click()
    assert page.locator("details.as-table table").first.is_visible()
    # the toggle counts everything
    page.check('input[name="include_all"]')
    page.click('form.inline button[type="submit"]')
    assert f"{total + 20} tin, bài trong 30 ngày gần nhất." in page.inner_text("body")
    # on a phone the labels keep their size
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + "/tong-quan?days=30")
    _check_charts(page)
    shot(page, "tong-quan-dien-thoai")


def test_report_page_has_charts_and_forecast(server: str, session: Session, page: Any) -> None:
    username = _seed(session)
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_login(page, server, username)
    local = utcnow() + timedelta(hours=7)
    page.goto(server + f"/bao-cao?ky={local.year}-{local.month:02d}")
    body = page.inner_text("body")
    assert "Tổng số tin, bài về giáo dục:" in body
    assert "độ liên quan từ 0,50 trở lên" in body
    assert page.locator("svg.chart").count() >= 3
    _check_charts(page)
    assert "Dự báo" in page.locator("section.forecast").inner_text()
    assert_no_repr(page, "/bao-cao")
    shot(page, "bao-cao-bieu-do")
