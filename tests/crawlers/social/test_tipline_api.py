"""POST /api/v1/tips on the real app, database and search index."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from core import db
from core.models import Document
from core.settings import Settings
from tests.factories import login_as

TIP = {
    "text": "Phụ huynh phản ánh: trường tiểu học Hòa An thu 500.000 đồng tiền điều hòa mỗi lớp.",
    "submitted_by": "Phụ huynh qua Zalo OA",
    "channel": "zalo",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    db.migrate()
    app = create_app(settings)
    with TestClient(app) as c:
        login_as(c, "press_officer")
        yield c


def _count() -> int:
    # A read-only session: a writer would hold SQLite's lock against the app's next POST.
    with db.new_session(read_only=True) as s:
        return int(s.scalar(select(func.count()).select_from(Document)) or 0)


def test_a_tip_is_created_and_a_repeat_is_merged(client: TestClient) -> None:
    # when
    first = client.post("/api/v1/tips", json=TIP)
    again = client.post("/api/v1/tips", json={**TIP, "submitted_by": "Cô Mai", "channel": "other"})
    # then
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["duplicate"] is False and body["document_url"] == f"/tai-lieu/{body['id']}"
    assert again.status_code == 201
    assert again.json() == {**body, "duplicate": True}
    assert _count() == 1
    doc = client.get(f"/api/v1/documents/{body['id']}").json()
    assert doc["kind"] == "tip" and doc["body"] == TIP["text"] and doc["author"] is None


def test_markup_in_a_tip_comes_back_as_text(client: TestClient) -> None:
    # given
    text = "Tin nhắn lạ: <script>document.location='http://lua-dao.vn'</script> nhận quà"
    # when
    created = client.post("/api/v1/tips", json={**TIP, "text": text}).json()
    # then the API returns it verbatim and the document page shows it escaped
    assert client.get(f"/api/v1/documents/{created['id']}").json()["body"] == text
    page = client.get(created["document_url"])
    assert page.status_code == 200
    assert "<script>document.location" not in page.text
    assert "&lt;script&gt;document.location" in page.text


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({**TIP, "text": "  "}, 400, "không được để trống"),
        ({**TIP, "text": "x" * 20_001}, 400, "dài quá 20.000 ký tự"),
        ({**TIP, "url": "javascript:alert(1)"}, 400, "Đường dẫn không hợp lệ"),
        ({**TIP, "channel": "telegram"}, 422, "channel"),
        ({"text": "thiếu người gửi", "channel": "zalo"}, 422, "submitted_by"),
        ({**TIP, "text": 42}, 422, "text"),
    ],
)
def test_bad_input_gets_a_message(
    client: TestClient, payload: dict[str, Any], status: int, message: str
) -> None:
    # when
    response = client.post("/api/v1/tips", json=payload)
    # then
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert _count() == 0


def test_a_body_that_is_not_json_is_refused(client: TestClient) -> None:
    # when
    response = client.post(
        "/api/v1/tips", content=b"text=abc", headers={"Content-Type": "text/plain"}
    )
    # then
    assert response.status_code == 422 and "detail" in response.json()
