"""Địa bàn: ingest locates documents, the indexer carries their places, and the search API
and page filter and count by province and commune."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from core.search import get_backend
from core.search.indexer import index_all_pending
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import ingest
from tests.factories import login_as, make_source

TITLES = [
    "Học sinh xã Tu Mơ Rông, tỉnh Kon Tum (cũ) vượt suối đến trường",
    "Trường mới khánh thành ở TP. Quảng Ngãi",
    "Hà Nội tuyển sinh lớp 10 công lập",
    "Bộ ban hành quy chế thi tốt nghiệp",
]


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    source = make_source(session, "Báo Thử Địa Bàn")
    session.commit()
    items = [
        FetchedItem(
            url=f"https://baothu.example.vn/dia-ban-{n}.html", title=title, lead="",
            body="Nhà trường đã báo cáo sự việc.", native_id=f"db-{n}",
            published_at=datetime(2026, 11, 20, 2, tzinfo=UTC),
        )
        for n, title in enumerate(TITLES)
    ]  # fmt: skip
    ingest(session, source, items)
    assert index_all_pending(session, get_backend(settings)) == 4
    session.commit()
    with TestClient(create_app(settings)) as c:
        login_as(c, "press_officer")
        yield c


def test_api_filters_and_counts_by_place(client: TestClient) -> None:
    # Quảng Ngãi (51) holds the old Kon Tum; xã Tu Mơ Rông is 23425; Hà Nội 01
    body = client.get("/api/v1/search", params={"place": "51"}).json()
    assert {h["title"] for h in body["hits"]} == set(TITLES[:2])
    body = client.get("/api/v1/search", params={"place": "23425"}).json()
    assert [h["title"] for h in body["hits"]] == [TITLES[0]]
    facet = {b["label"]: b["count"] for b in client.get("/api/v1/search").json()["facets"]["place"]}
    assert facet == {"Quảng Ngãi": 2, "Xã Tu Mơ Rông (Quảng Ngãi)": 1, "Hà Nội": 1}
    bad = client.get("/api/v1/search", params={"place": "Quảng Ngãi"})
    assert bad.status_code == 400 and "địa bàn" in bad.json()["detail"]


def test_search_page_shows_the_place_facet(client: TestClient) -> None:
    page = client.get("/", params={"q": "học sinh"}).text
    assert "<h3>Địa bàn</h3>" in page
    assert "Xã Tu Mơ Rông (Quảng Ngãi)" in page
    assert "place=23425" in page
    assert '<span class="tag place">Xã Tu Mơ Rông (Quảng Ngãi)</span>' in page
    filtered = client.get("/", params={"place": "01"}).text
    assert "Hà Nội tuyển sinh lớp 10 công lập" in filtered
    assert "Trường mới khánh thành" not in filtered
