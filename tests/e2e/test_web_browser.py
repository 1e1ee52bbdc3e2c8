"""The press office's web app in headless Chromium against a real uvicorn server.

Sign in, watch a new case arrive without reload, work it through to closed; and scraped
markup (script tags, event handlers, javascript: links, lookalike Unicode) stays text."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from core.settings import Settings
from tests.factories import browser_login, make_alert, make_document, make_source, make_user

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
HOSTILE = (
    '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    " Trường ‮tixe‬ Sở GDĐТ"  # RTL override and a Cyrillic Т in "GDĐТ"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(settings: Settings, session: Session, tmp_path: Path) -> Iterator[str]:
    """uvicorn serving the app on a free port, on the test database (already migrated)."""
    port = _free_port()
    log = (tmp_path / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=os.environ.copy(),  # the settings fixture's DIEMTIN_* variables
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "uvicorn.log").read_text()
            try:
                if httpx.get(base + "/dang-nhap", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def page() -> Iterator[object]:
    """A fresh page in headless Chromium (the Debian package, no downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs the chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        yield context.new_page()
        browser.close()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


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
