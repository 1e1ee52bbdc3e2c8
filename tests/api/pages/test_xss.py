"""Scraped and user-entered text is shown as text on every page and in every export."""

from __future__ import annotations

import csv
import io

import docx
import lxml.html
import openpyxl
import pytest

from core.models import Fact, Rule, Subscription, User
from tests.api.pages.conftest import HOSTILE_BODY, HOSTILE_SOURCE, HOSTILE_TITLE, JS_URL, Seed

PAGES = [
    "/?q=",
    "/?q=tra+loi",
    "/?q=&sort=time&source=2",
    "/tong-quan?days=366",
    "/bao-cao?ky=2025-10",
    "/bao-cao?ky=2025-2026",
    "/quan-tri/nguon-tin",
    "/quan-tri/quy-tac",
    "/quan-tri/don-vi",
    "/quan-tri/ngan-hang-thong-tin",
    "/quan-tri/nguoi-dung",
    "/quan-tri/dang-ky-nhan-tin",
]


@pytest.fixture
def hostile(seeded: Seed, session) -> Seed:
    """Admin-side rows carrying the same hostile text (as an older import could have)."""
    session.add_all(
        [
            Rule(name=HOSTILE_TITLE, query='"<script>" OR onerror', filters={"risks": ["nong"]}),
            Fact(statement=HOSTILE_BODY, correction=HOSTILE_TITLE, source_url=JS_URL),
            User(username="x", full_name=HOSTILE_TITLE, password_hash="-", email=JS_URL),
            Subscription(target=HOSTILE_TITLE, channel="webhook", quiet_hours=""),
        ]
    )
    session.commit()
    return seeded


def assert_inert(html: str) -> None:
    """No script of theirs, no event handler, no script URL: only our own markup runs."""
    tree = lxml.html.fromstring(html)
    for script in tree.iter("script"):
        assert script.get("src", "").startswith("/static/") or script.get("src", "").startswith(
            "http://testserver/static/"
        ), lxml.html.tostring(script)
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name, value)
            if name in ("href", "src", "action", "formaction"):
                assert not value.strip().lower().startswith(("javascript:", "data:")), value


@pytest.mark.parametrize("path", PAGES)
def test_page_shows_hostile_text_as_text(client_for, hostile: Seed, path: str) -> None:
    r = client_for("admin").get(path)
    assert r.status_code == 200, r.text[:300]
    assert_inert(r.text)
    assert "<script>alert" not in r.text
    assert "<img src=x" not in r.text
    assert "<b onmouseover" not in r.text


def test_hostile_text_is_visible_verbatim(client_for, hostile: Seed) -> None:
    client = client_for("admin")
    # the text the user reads is exactly what was scraped, lookalike letters included
    page = lxml.html.fromstring(client.get("/quan-tri/ngan-hang-thong-tin").text)
    assert HOSTILE_BODY in page.text_content()
    search = lxml.html.fromstring(client.get("/", params={"q": ""}).text)
    assert HOSTILE_TITLE in search.text_content()
    assert HOSTILE_SOURCE in search.text_content()
    assert (
        "Ѕở Giáо dục ＜script＞"
        in lxml.html.fromstring(client.get("/", params={"q": "tra loi"}).text).text_content()
    )


def test_exports_carry_hostile_text_as_plain_text(client_for, hostile: Seed) -> None:
    client = client_for("admin")
    body = client.get("/api/v1/search/export.csv", params={"q": ""}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    hostile_row = next(r for r in rows if r["Mã tài liệu"] == hostile.docs["d1"])
    assert hostile_row["Tiêu đề"] == HOSTILE_TITLE  # plain text, a CSV has no markup to run
    assert hostile_row["Đường dẫn"] == JS_URL  # data, never a formula or a live link
    r = client.get("/api/v1/reports/report.docx", params={"period": "2025-10"})
    cells = [
        c.text
        for t in docx.Document(io.BytesIO(r.content)).tables
        for row in t.rows
        for c in row.cells
    ]
    assert HOSTILE_TITLE in cells and HOSTILE_SOURCE in cells
    r = client.get("/api/v1/reports/report.xlsx", params={"period": "2025-10"})
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    values = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row}
    assert HOSTILE_TITLE in values and HOSTILE_SOURCE in values


def test_search_result_link_to_javascript_url_is_not_clickable(client_for, hostile: Seed) -> None:
    html = client_for("admin").get("/tai-lieu/" + hostile.docs["d1"]).text
    assert_inert(html)
    assert 'href="javascript:' not in html
