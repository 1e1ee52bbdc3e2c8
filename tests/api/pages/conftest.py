"""Fixtures for the press office's pages: a seeded, indexed database and `client_for(role)`.

`client_for(role)` returns a TestClient signed in (a real session cookie) as a new user with
that role; it sends the X-CSRF-Token header as the pages' JavaScript does, and `post_form`
posts a form the way a browser does, with the `csrf_token` field instead of the header."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from core.models import Alert, DocumentUnit, Unit
from core.search import get_backend
from core.search.indexer import index_all_pending
from core.settings import Settings
from tests.factories import login_as, make_document, make_source, make_user

# Scraped text as hostile as we have seen: markup, handlers, script URLs, lookalike letters
# (Cyrillic "Ѕ" and "о", fullwidth "＜"), bidi override, and a spreadsheet formula.
HOSTILE_TITLE = 'Phụ huynh <script>alert("x")</script> tố lạm thu <img src=x onerror=alert(1)>'
HOSTILE_BODY = (
    'Xem <a href="javascript:alert(1)">tại đây</a>. Ѕở Giáо dục ＜script＞ \u202etxt.exe '
    "trả lời về khoản thu."
)
FORMULA_TITLE = '=HYPERLINK("http://evil.example/","Bấm vào đây") học phí'
HOSTILE_SOURCE = "Báo <b onmouseover=alert(2)>Lạ</b>"
JS_URL = "javascript:alert(document.cookie)"


def at(day: str, hour: int = 2) -> datetime:
    """A UTC moment on a day of the fixture calendar."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class Seed:
    """Ids of the seeded rows, for assertions."""

    sources: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)


def seed(session: Session) -> Seed:
    """Sources, units, documents of Sep–Nov 2025 naming units, and cases of October 2025."""
    s = Seed()
    a = make_source(session, "Báo Giáo dục Thử")
    b = make_source(session, HOSTILE_SOURCE)
    s.sources = {"a": a.id, "b": b.id}
    p1 = Unit(name="Phòng GDĐT Hải Châu", type="phong_gddt", district="Hải Châu")
    s1 = Unit(name="Trường THCS Nguyễn Huệ", type="truong", district="Hải Châu")
    s2 = Unit(name="Trường <i>Tiểu học</i> Lê Lợi", type="truong", district="Sơn Trà")
    session.add_all([p1, s1, s2])
    session.flush()
    s.units = {"p1": p1.id, "s1": s1.id, "s2": s2.id}
    rows = [
        (
            "d1",
            a,
            HOSTILE_TITLE,
            # Names its unit, as alert evaluation links units from the text it reads.
            HOSTILE_BODY + " Phòng GDĐT Hải Châu đã vào cuộc.",
            "2025-10-03",
            ["hoc_phi_thu_chi"],
            "tieu_cuc",
            "nong",
            ["p1"],
        ),
        (
            "d2",
            a,
            "Giáo viên Hải Châu đạt giải thưởng",
            "Tấm gương nhà giáo.",
            "2025-10-08",
            ["guong_dien_hinh"],
            "tich_cuc",
            "binh_thuong",
            ["p1"],
        ),
        (
            "d3",
            b,
            "Học sinh Nguyễn Huệ đoạt huy chương",
            "Thành tích đáng khen.",
            "2025-10-15",
            ["guong_dien_hinh", "mam_non"],
            "tich_cuc",
            "binh_thuong",
            ["s1"],
        ),
        (
            "d4",
            b,
            FORMULA_TITLE,
            "Bàn về học phí năm học mới.",
            "2025-10-20",
            ["hoc_phi_thu_chi"],
            "trung_tinh",
            "theo_doi",
            [],
        ),
        (
            "d5",
            a,
            "Hải Châu khen thưởng học sinh giỏi",
            "Tin vui tháng 11.",
            "2025-11-05",
            ["guong_dien_hinh"],
            "tich_cuc",
            "binh_thuong",
            ["p1"],
        ),
        (
            "d6",
            b,
            "Nguyễn Huệ khai giảng năm học",
            "Lễ khai giảng.",
            "2025-09-05",
            ["khac"],
            "tich_cuc",
            "binh_thuong",
            ["s1"],
        ),
    ]
    for key, src, title, body, day, topics, sentiment, risk, units in rows:
        doc = make_document(
            session,
            src,
            title,
            body,
            published_at=at(day),
            topics=topics,
            sentiment=sentiment,
            risk=risk,
        )
        if key == "d1":
            doc.url = doc.canonical_url = JS_URL
        for u in units:
            session.add(DocumentUnit(document_id=doc.id, unit_id=s.units[u]))
        s.docs[key] = doc.id
    cases = [
        (HOSTILE_TITLE, "high", "responded", "2025-10-05", 2, "p1"),
        ("Phản ánh thu sai quy định", "critical", "closed", "2025-10-10", 10, None),
        ("Tin đồn nghỉ học", "medium", "new", "2025-10-20", None, "s1"),
        ("Góp ý về bán trú", "low", "closed", "2025-10-25", 4, None),
        ("Vụ việc tháng trước", "high", "closed", "2025-09-25", 1, None),
    ]
    for title, severity, status, day, hours, unit in cases:
        created = at(day, 0)
        session.add(
            Alert(
                kind="rule",
                title=title,
                severity=severity,
                status=status,
                created_at=created,
                responded_at=created + timedelta(hours=hours) if hours is not None else None,
                response="Đã trả lời <b>báo chí</b>" if hours else None,
                unit_id=s.units[unit] if unit else None,
            )
        )
    session.commit()
    return s


@pytest.fixture
def seeded(settings: Settings, session: Session) -> Seed:
    """The seeded database, indexed for search."""
    s = seed(session)
    assert index_all_pending(session, get_backend(settings)) == len(s.docs)
    # SQLite: an open transaction here would hold the write lock the app needs.
    session.commit()
    return s


@pytest.fixture
def client_for(settings: Settings, session: Session) -> Iterator[Callable[..., TestClient]]:
    """`client_for(role, unit_id=None)`: a TestClient signed in as a new user with that role."""
    clients: list[TestClient] = []

    def make(role: str = "admin", unit_id: int | None = None) -> TestClient:
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        login_as(client, role, unit_id)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def post_form(client: TestClient, url: str, data: Any = None, **kw: Any) -> Any:
    """POST a form as a browser does: the CSRF token in the `csrf_token` field, no header."""
    token = client.headers.pop("X-CSRF-Token")
    try:
        return client.post(url, data={**(data or {}), "csrf_token": token}, **kw)
    finally:
        client.headers["X-CSRF-Token"] = token


@pytest.fixture
def api_token(settings: Settings) -> Callable[[], str]:
    """`api_token()`: the secret of a personal API token of a new admin."""
    from api.auth import create_token
    from core.db import session_scope

    def make() -> str:
        with session_scope(settings.db_url) as s:
            secret, _ = create_token(s, make_user(s, "admin"), "kiểm thử")
            s.commit()
        return secret

    return make


@pytest.fixture
def api_schema(client_for: Callable[..., TestClient], seeded: Seed) -> object:
    """The app's OpenAPI for schemathesis, called in process (ASGI)."""
    import schemathesis

    app = client_for("admin").app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def live_server(settings: Settings, seeded: Seed) -> Iterator[str]:
    """The app on uvicorn on 127.0.0.1 (a thread of this process) over the seeded database."""
    from tests.live import serve_app

    with serve_app(settings) as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture
def admin_page(browser: Any, live_server: str, session: Session) -> Any:
    """A Chromium page signed in through the sign-in form as a new admin."""
    from tests.factories import browser_login

    user = make_user(session, "admin")
    session.commit()
    page = browser.new_page()
    browser_login(page, live_server, user.username)
    return page


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium (the system's), no network beyond loopback."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()
