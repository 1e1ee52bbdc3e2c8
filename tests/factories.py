"""Small builders for database rows used across tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from alerts.cases.lifecycle import set_deadline
from core.models import Alert, Classification, Document, Source, Story, Unit, User


def make_source(session: Session, name: str = "Báo Thử", **kw: object) -> Source:
    """A saved RSS source."""
    source = Source(name=name, url=kw.pop("url", "http://127.0.0.1:9/rss.xml"), **kw)
    session.add(source)
    session.flush()
    return source


def make_document(
    session: Session,
    source: Source,
    title: str,
    body: str = "",
    *,
    published_at: datetime | None = None,
    topics: list[str] | None = None,
    sentiment: str = "trung_tinh",
    risk: str = "binh_thuong",
    relevance: float = 0.9,
) -> Document:
    """A saved document with one classification, not yet indexed (an education item unless
    `relevance` says otherwise: the figures count only those, alerts.reporting.relevance)."""
    url = f"https://bao.example.vn/{uuid.uuid4().hex}.html"
    doc = Document(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
        source_id=source.id,
        url=url,
        canonical_url=url,
        title=title,
        body=body,
        published_at=published_at or datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    )
    doc.classifications.append(
        Classification(
            model_version="test",
            topics=topics or ["khac"],
            sentiment=sentiment,
            risk=risk,
            relevance=relevance,
        )
    )
    session.add(doc)
    session.flush()
    return doc


PASSWORD = "mat-khau-thu-nghiem"
_hash_cache: dict[str, str] = {}
_counter = iter(range(1, 1_000_000))


def _hashed(password: str) -> str:
    # argon2 is slow on purpose; every test user shares one hash of the same password.
    if password not in _hash_cache:
        from core.security import hash_password

        _hash_cache[password] = hash_password(password)
    return _hash_cache[password]


def make_user(
    session: Session,
    role: str = "press_officer",
    unit_id: int | None = None,
    *,
    username: str | None = None,
    password: str = PASSWORD,
    full_name: str = "",
) -> User:
    """A saved, active user with `role` (admin, press_officer, leadership, unit_focal)."""
    n = next(_counter)
    user = User(
        username=username or f"{role}-{n}",
        # A person's name, not the role code: pages show it (tests/e2e/repr_guard.py).
        full_name=full_name or f"Cán bộ số {n}",
        role=role,
        unit_id=unit_id,
        password_hash=_hashed(password),
    )
    session.add(user)
    session.flush()
    return user


def make_unit(session: Session, name: str = "Trường THCS Thử") -> Unit:
    """A saved unit."""
    unit = Unit(name=name)
    session.add(unit)
    session.flush()
    return unit


def make_alert(
    session: Session,
    title: str = "Phụ huynh phản ánh lạm thu",
    *,
    severity: str = "high",
    documents: list[Document] | None = None,
    unit_id: int | None = None,
    created_at: datetime | None = None,
    **kw: object,
) -> Alert:
    """A saved case; `documents` are put into one story with it."""
    story = None
    if documents:
        story = Story(title=title, doc_count=len(documents))
        session.add(story)
        session.flush()
        for doc in documents:
            doc.story_id = story.id
    alert = Alert(
        title=title,
        severity=severity,
        story_id=story.id if story else None,
        unit_id=unit_id,
        created_at=created_at or datetime.now(UTC),
        details=kw.pop("details", {"documents": [d.id for d in documents or []]}),
        **kw,
    )
    set_deadline(alert)
    session.add(alert)
    session.flush()
    return alert


def login_as(client: Any, role: str = "press_officer", unit_id: int | None = None) -> User:
    """Create a user with `role` and sign `client` (a TestClient) in as them.

    Afterwards the client sends the session cookie and the X-CSRF-Token header."""
    from core.db import session_scope

    with session_scope(client.app.state.settings.db_url) as s:
        user = make_user(s, role, unit_id)
        s.commit()
    r = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return user


def browser_login(page: Any, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign a Playwright page in through the sign-in form."""
    page.goto(f"{base_url}/dang-nhap")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/hop-thu**")
