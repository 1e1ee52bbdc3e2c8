"""The search API and pages against a real SQLite database and the real FTS5 index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from core.search import get_backend
from core.search.indexer import index_all_pending
from core.settings import Settings
from tests.core.search.contract import HOSTILE_QUERIES
from tests.factories import login_as, make_document, make_source


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    # given two sources and three documents, written to the database and indexed from it
    local = make_source(session, "Báo Địa Phương", scope="local")
    national = make_source(session, "Báo Trung Ương", scope="national")
    make_document(
        session,
        local,
        "Sở Giáo dục tổ chức khai giảng",
        "Ngành giáo dục Đà Nẵng bước vào năm học mới.",
        topics=["khac"],
        sentiment="tich_cuc",
    )
    make_document(
        session,
        national,
        "Phụ huynh phản ánh lạm thu",
        "Clip <img src=x onerror=alert(1)> lan truyền về các khoản thu.",
        topics=["hoc_phi_thu_chi"],
        sentiment="tieu_cuc",
        risk="nong",
    )
    make_document(session, national, "Tuyển sinh lớp 10", "Chỉ tiêu tuyển sinh năm nay tăng.")
    session.commit()
    assert index_all_pending(session, get_backend(settings)) == 3
    session.commit()  # SQLite: an open write transaction here would block the sign-in
    with TestClient(create_app(settings)) as c:
        login_as(c, "press_officer")
        yield c


def test_search_without_diacritics_returns_highlighted_hits(client: TestClient) -> None:
    r = client.get("/api/v1/search", params={"q": "giao duc"})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1
    hit = body["hits"][0]
    assert hit["title"] == "Sở Giáo dục tổ chức khai giảng"
    assert "<mark>giáo</mark> <mark>dục</mark>" in hit["snippet_html"]
    assert hit["source_name"] == "Báo Địa Phương"
    assert {b["value"] for b in body["facets"]["sentiment"]} == {"tich_cuc"}
    assert body["histogram"] == [{"value": "2026-11-20", "count": 1, "label": None}]


def test_filters_and_facets(client: TestClient) -> None:
    r = client.get("/api/v1/search", params=[("risk", "nong"), ("risk", "binh_thuong")])
    assert r.json()["total"] == 3
    r = client.get("/api/v1/search", params={"topic": "hoc_phi_thu_chi"})
    assert [h["title"] for h in r.json()["hits"]] == ["Phụ huynh phản ánh lạm thu"]
    sources = {b["label"]: b["count"] for b in r.json()["facets"]["source"]}
    assert sources == {"Báo Trung Ương": 1}
    r = client.get("/api/v1/search", params={"from": "2026-11-21"})
    assert r.json()["total"] == 0


def test_scope_filter_keeps_national_or_local_press(client: TestClient) -> None:
    # given one local and one national outlet (see the fixture)
    def titles(params: list[tuple[str, str]]) -> list[str]:
        r = client.get("/api/v1/search", params=[("sort", "time"), *params])
        assert r.status_code == 200
        return sorted(h["title"] for h in r.json()["hits"])

    # then each scope keeps its own outlets' items, several scopes combine with OR
    assert titles([("scope", "local")]) == ["Sở Giáo dục tổ chức khai giảng"]
    assert titles([("scope", "national")]) == ["Phụ huynh phản ánh lạm thu", "Tuyển sinh lớp 10"]
    assert len(titles([("scope", "local"), ("scope", "national")])) == 3
    assert titles([("scope", "social")]) == []  # no social source at all: nothing, not all
    # and with a source filter, both must hold
    local_id = client.get("/api/v1/search", params={"scope": "local"}).json()["hits"][0]
    assert titles([("scope", "national"), ("source", str(local_id["source_id"]))]) == []
    # an unknown scope is a clear 400; the page shows the filter in Vietnamese
    r = client.get("/api/v1/search", params={"scope": "quoc_te"})
    assert r.status_code == 400 and "loại nguồn" in r.json()["detail"]
    page = client.get("/", params={"scope": "local"}).text
    assert "Loại nguồn" in page
    assert '<input type="checkbox" name="scope" value="local" checked> Báo địa phương' in page


def test_pagination(client: TestClient) -> None:
    first = client.get("/api/v1/search", params={"size": 2, "sort": "time"}).json()
    second = client.get("/api/v1/search", params={"size": 2, "page": 2, "sort": "time"}).json()
    assert first["total"] == second["total"] == 3
    assert len(first["hits"]) == 2 and len(second["hits"]) == 1


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"size": 1000}, 422),
        ({"page": 0}, 422),
        ({"sort": "random"}, 422),
        ({"topic": "khong_co"}, 400),
        ({"from": "hôm qua"}, 400),
        ({"from": "2026-12-01", "to": "2026-11-01"}, 400),
        ({"q": "x" * 1001}, 422),
        ({"source": "abc"}, 422),
    ],
)
def test_invalid_input_gets_a_clear_error(client: TestClient, params: dict, status: int) -> None:
    r = client.get("/api/v1/search", params=params)
    assert r.status_code == status
    assert r.json()["detail"]


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_hostile_queries_never_500(client: TestClient, q: str) -> None:
    r = client.get("/api/v1/search", params={"q": q})
    # 400: the query cannot be parsed; 422: it carries U+0000, refused before any route runs.
    assert r.status_code in (200, 400, 422)
    assert r.json()["hits" if r.status_code == 200 else "detail"] is not None
    if "\x00" in q:
        assert r.status_code == 422
    page = client.get("/", params={"q": q})
    assert page.status_code in (200, 400, 422)


def test_document_endpoint(client: TestClient) -> None:
    doc_id = client.get("/api/v1/search", params={"q": "lam thu"}).json()["hits"][0]["id"]
    r = client.get(f"/api/v1/documents/{doc_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["classification"]["risk"] == "nong"
    assert body["indexed"] is True
    assert body["source"]["name"] == "Báo Trung Ương"
    assert client.get("/api/v1/documents/khong-co").status_code == 404


def test_pages_show_scraped_markup_as_text(client: TestClient) -> None:
    # given a document whose body carries an <img onerror> payload
    page = client.get("/", params={"q": "clip"})
    assert page.status_code == 200
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "Cú pháp tìm kiếm" in page.text
    doc_id = client.get("/api/v1/search", params={"q": "clip"}).json()["hits"][0]["id"]
    doc_page = client.get(f"/tai-lieu/{doc_id}")
    assert "<img src=x" not in doc_page.text


def test_healthz_and_openapi(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health == {
        "status": "ok",
        "database": True,
        "search": True,
        "search_backend": "sqlite",
        "documents_pending_index": 0,
        "writable": True,
        "reasons": [],
    }
    spec = client.get("/openapi.json").json()
    assert "/api/v1/search" in spec["paths"] and "/api/v1/documents/{doc_id}" in spec["paths"]
