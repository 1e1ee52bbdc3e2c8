"""Label corrections: the JSON API (validation, 404, roles, upsert) and the CSV export,
on a real migrated SQLite database with a document from a real ingest."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli
from api.main import create_app
from classifier.baseline import MODEL_VERSION
from classifier.corrections import read_csv
from core.models import Document, LabelCorrection, Source
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.labelling import classification_text
from crawlers.pipeline import ingest
from tests.factories import login_as


@pytest.fixture
def doc_id(session: Session) -> str:
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(source)
    session.commit()
    item = FetchedItem(
        url="https://baothu.example.vn/giao-duc/lam-thu.html",
        title="Phụ huynh phản ánh trường lạm thu đầu năm học",
        lead="Nhiều khoản thu ngoài quy định <script>alert(1)</script> khiến phụ huynh bức xúc.",
        body="Phòng GDĐT huyện yêu cầu trả lại tiền cho học sinh.",
        published_at=datetime(2025, 9, 10, 2, tzinfo=UTC),
    )
    ingest(session, source, [item])
    found = session.scalar(select(Document.id))
    assert found is not None
    session.commit()  # SQLite: end our read before the app writes
    return found


@pytest.fixture
def client(settings: Settings, session: Session) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        login_as(c, "admin")
        yield c


def _count(session: Session) -> int:
    n = session.scalar(select(func.count()).select_from(LabelCorrection)) or 0
    session.commit()
    return n


def test_a_correction_is_stored_with_the_model_input_and_replaced_when_corrected_again(
    client: TestClient, session: Session, doc_id: str
) -> None:
    # when
    r = client.post(f"/api/v1/documents/{doc_id}/labels", json={"head": "risk", "value": "nong"})
    # then
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["head"] == "risk" and body["value"] == "nong"
    assert body["model_version"] == MODEL_VERSION
    assert body["predicted"] in ("nong", "theo_doi", "binh_thuong")
    row = session.scalars(select(LabelCorrection)).one()
    doc = session.get(Document, doc_id)
    assert doc is not None and row.text == classification_text(doc)
    session.commit()
    # when: corrected again, and another head
    again = client.post(
        f"/api/v1/documents/{doc_id}/labels", json={"head": "risk", "value": "theo_doi"}
    )
    topics = client.post(
        f"/api/v1/documents/{doc_id}/labels",
        json={"head": "topics", "value": ["hoc_phi_thu_chi", "hoc_phi_thu_chi"]},
    )
    url = f"/api/v1/documents/{doc_id}/labels"
    binary = client.post(url, json={"head": "toxicity", "value": 0})
    # then: one row per head, the newest value
    assert again.status_code == 200 and again.json()["value"] == "theo_doi"
    assert topics.status_code == 201 and topics.json()["value"] == ["hoc_phi_thu_chi"]
    assert binary.status_code == 201 and binary.json()["value"] == 0
    listed = client.get(f"/api/v1/documents/{doc_id}/labels")
    assert listed.status_code == 200
    assert [(x["head"], x["value"]) for x in listed.json()] == [
        ("topics", ["hoc_phi_thu_chi"]), ("risk", "theo_doi"), ("toxicity", 0),
    ]  # fmt: skip
    assert _count(session) == 3


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"head": "mood", "value": 1}, "Nhãn 'mood' không tồn tại"),
        ({"head": "relevance", "value": 2}, "phải là 0 hoặc 1"),
        ({"head": "relevance", "value": "1"}, "phải là 0 hoặc 1"),
        ({"head": "sentiment", "value": "vui"}, "tieu_cuc, trung_tinh, tich_cuc"),
        ({"head": "risk", "value": ["nong"]}, "nong, theo_doi, binh_thuong"),
        ({"head": "topics", "value": []}, "danh sách 1–3 mã chủ đề"),
        ({"head": "topics", "value": "day_them"}, "danh sách 1–3 mã chủ đề"),
        ({"head": "topics", "value": ["day_them", "bong_da"]}, "Mã chủ đề không hợp lệ: 'bong_da'"),
        (
            {"head": "topics", "value": ["day_them", "nha_giao", "mam_non", "khac"]},
            "tối đa 3 chủ đề",
        ),
        ({"head": "risk"}, "Tham số không hợp lệ (body.value)"),
        ({"value": "nong"}, "Tham số không hợp lệ (body.head)"),
    ],
)
def test_bad_corrections_get_a_clear_json_error_and_store_nothing(
    client: TestClient, session: Session, doc_id: str, payload: dict, words: str
) -> None:
    # when
    r = client.post(f"/api/v1/documents/{doc_id}/labels", json=payload)
    # then
    assert r.status_code == 422
    assert words in r.json()["detail"]
    assert _count(session) == 0


def test_unknown_document_or_alert_is_404(client: TestClient, doc_id: str) -> None:
    body = {"head": "risk", "value": "nong"}
    r = client.post("/api/v1/documents/khong-co/labels", json=body)
    assert r.status_code == 404 and r.json()["detail"] == "Không tìm thấy bài viết."
    assert client.get("/api/v1/documents/khong-co/labels").status_code == 404
    r = client.post(f"/api/v1/documents/{doc_id}/labels", json={**body, "alert_id": 999})
    assert r.status_code == 404 and "cảnh báo" in r.json()["detail"]


@pytest.mark.parametrize(("role", "allowed"), [("leadership", False), ("unit_focal", False),
                                               ("press_officer", True)])  # fmt: skip
def test_only_admins_and_press_officers_correct_labels(
    client: TestClient, session: Session, doc_id: str, role: str, allowed: bool
) -> None:
    # given: a user with this role, signed in
    client.cookies.clear()
    uid = login_as(client, role).id
    # when
    r = client.post(f"/api/v1/documents/{doc_id}/labels", json={"head": "risk", "value": "nong"})
    listed = client.get(f"/api/v1/documents/{doc_id}/labels")
    # then
    if allowed:
        assert r.status_code == 201 and r.json()["user_id"] == uid and listed.status_code == 200
    else:
        assert r.status_code == 403 and listed.status_code == 403
        assert "không có quyền" in r.json()["detail"]
        assert _count(session) == 0


def test_export_writes_the_corrections_as_csv_that_training_reads(
    client: TestClient, session: Session, doc_id: str, tmp_path: Path
) -> None:
    # given
    for head, value in (("risk", "nong"), ("topics", ["hoc_phi_thu_chi", "mam_non"]),
                        ("relevance", 1)):  # fmt: skip
        r = client.post(f"/api/v1/documents/{doc_id}/labels", json={"head": head, "value": value})
        assert r.status_code == 201
    out = tmp_path / "exports" / "corrections.csv"
    # when
    result = CliRunner().invoke(cli, ["corrections", "export", "--out", str(out)])
    to_stdout = CliRunner().invoke(cli, ["corrections", "export"])
    # then
    assert result.exit_code == 0, result.output
    assert "Đã ghi 3 nhãn sửa" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [r["head"] for r in rows] == ["risk", "topics", "relevance"]
    assert json.loads(rows[1]["value"]) == ["hoc_phi_thu_chi", "mam_non"]
    assert rows[0]["document_id"] == doc_id and "<script>" in rows[0]["text"]
    assert rows[0]["model_version"] == MODEL_VERSION and rows[0]["created_at"]
    read = read_csv(out)
    assert [(c.head, c.value) for c in read] == [
        ("risk", "nong"), ("topics", ["hoc_phi_thu_chi", "mam_non"]), ("relevance", 1),
    ]  # fmt: skip
    assert list(csv.DictReader(io.StringIO(to_stdout.output))) == rows
