"""The press office's web app in headless Chromium against a real uvicorn server.

Sign in, watch a new case arrive without reload, work it through to closed; and scraped
markup (script tags, event handlers, javascript: links, lookalike Unicode) stays text."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.e2e.conftest import shot as _shot
from tests.factories import browser_login, make_alert, make_document, make_source, make_user

pytestmark = pytest.mark.slow
HOSTILE = (
    '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    " Trường ‮tixe‬ Sở GDĐТ"  # RTL override and a Cyrillic Т in "GDĐТ"
)


def test_sign_in_new_case_arrives_and_is_worked_to_closed(
    server: str, session: Session, page: object
) -> None:
    p = page  # playwright Page
    officer = make_user(session, "press_officer", full_name="Nguyễn Thị Lan")
    session.commit()
    p.goto(server + "/hop-thu")  # type: ignore[attr-defined]
    assert "/dang-nhap" in p.url  # type: ignore[attr-defined]
    _shot(p, "dang-nhap")
    browser_login(p, server, officer.username)
    assert p.locator(".who").inner_text() == "Nguyễn Thị Lan"  # type: ignore[attr-defined]
    p.evaluate("window.__same_page = true")  # type: ignore[attr-defined]
    # when a case is created while the inbox is open
    source = make_source(session, "Báo Giáo Dục Thử")
    doc = make_document(session, source, "Phụ huynh phản ánh thu tiền sai quy định")
    alert = make_alert(session, "Phụ huynh phản ánh thu tiền", severity="critical", documents=[doc])
    session.commit()
    # then it appears without a reload
    row = p.locator(f'tr[data-id="{alert.id}"]')  # type: ignore[attr-defined]
    row.wait_for(timeout=15_000)
    assert p.evaluate("window.__same_page") is True  # type: ignore[attr-defined]
    assert "Phụ huynh phản ánh thu tiền" in row.inner_text()
    _shot(p, "hop-thu")
    # keyboard: j selects, a acknowledges, Enter opens
    p.keyboard.press("j")  # type: ignore[attr-defined]
    p.keyboard.press("a")  # type: ignore[attr-defined]
    # Functions, not expressions: Playwright evals an expression, which the CSP forbids.
    p.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelector('tr[data-id=\"{alert.id}\"] .status').textContent"
        " === 'Đã tiếp nhận'"
    )
    p.keyboard.press("e")  # type: ignore[attr-defined]
    p.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelector('tr[data-id=\"{alert.id}\"] .assignee').textContent"
        " === 'Nguyễn Thị Lan'"
    )
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    p.wait_for_url(f"{server}/canh-bao/{alert.id}")  # type: ignore[attr-defined]
    assert "Báo Giáo Dục Thử" in p.locator("table.timeline").inner_text()  # type: ignore[attr-defined]
    # reassign from the page (to me again), record a response, close
    p.select_option("#assignee", str(officer.id))  # type: ignore[attr-defined]
    p.click("#btn-assign")  # type: ignore[attr-defined]
    assert p.locator("#case-status").inner_text() == "Đã phân công"  # type: ignore[attr-defined]
    p.fill("#response-text", "Sở đã chỉ đạo nhà trường hoàn trả khoản thu.")  # type: ignore[attr-defined]
    p.click("#btn-respond")  # type: ignore[attr-defined]
    assert p.locator("#case-status").inner_text() == "Đã phản hồi"  # type: ignore[attr-defined]
    p.click("#btn-close")  # type: ignore[attr-defined]
    assert p.locator("#case-status").inner_text() == "Đã đóng"  # type: ignore[attr-defined]
    history = p.locator("#history").inner_text()  # type: ignore[attr-defined]
    assert "Đã phản hồi → Đã đóng" in history and "Nguyễn Thị Lan" in history
    _shot(p, "canh-bao")


def test_scraped_markup_shows_as_text(server: str, session: Session, page: object) -> None:
    p = page
    dialogs: list[str] = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    officer = make_user(session, "press_officer")
    source = make_source(session, "Trang <b>lạ</b>")
    doc = make_document(session, source, HOSTILE, "Nội dung <script>alert(1)</script>")
    doc.url = "javascript:alert(document.cookie)"
    first = make_alert(session, HOSTILE, documents=[doc], details={"why": HOSTILE})
    session.commit()
    browser_login(p, server, officer.username)
    # a hostile case arriving live goes through the JS path, not the server template
    late = make_alert(session, HOSTILE + " (mới)", severity="critical")
    session.commit()
    p.locator(f'tr[data-id="{late.id}"]').wait_for(timeout=15_000)  # type: ignore[attr-defined]
    _shot(p, "xss-hop-thu")
    for path in ("/hop-thu", f"/canh-bao/{first.id}", f"/canh-bao/{late.id}"):
        p.goto(server + path)  # type: ignore[attr-defined]
        p.wait_for_timeout(300)  # type: ignore[attr-defined]
        assert p.evaluate("typeof window.__xss") == "undefined", path  # type: ignore[attr-defined]
        scripts = p.evaluate(  # type: ignore[attr-defined]
            "Array.from(document.scripts).map(s => s.src.split('/').pop())"
        )
        assert scripts in ([], ["inbox.js"]), (path, scripts)
        assert p.locator("img[src=x]").count() == 0  # type: ignore[attr-defined]
        assert "<script>window.__xss = 1</script>" in p.locator("main").inner_text()  # type: ignore[attr-defined]
    # the javascript: link is not clickable; the lookalike title is shown verbatim
    hrefs = p.evaluate("Array.from(document.links).map(a => a.getAttribute('href'))")  # type: ignore[attr-defined]
    assert not [h for h in hrefs if h and h.lower().startswith("javascript")]
    assert "Sở GDĐТ" in p.locator("h1").inner_text()  # type: ignore[attr-defined]
    _shot(p, "xss-canh-bao")
    assert dialogs == []
