"""A unit focal point sees only its unit's coverage: search results and documents."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.models import DocumentUnit
from core.search import get_backend
from core.search.indexer import index_all_pending
from core.settings import Settings
from tests.factories import login_as, make_document, make_source, make_unit


def test_unit_focal_search_and_documents_are_scoped(
    app_client: TestClient, session: Session, settings: Settings
) -> None:
    # given two documents about education, one naming the focal point's school
    source = make_source(session)
    unit = make_unit(session, "Trường THCS Lê Lợi")
    ours = make_document(session, source, "Trường THCS Lê Lợi khai giảng năm học")
    other = make_document(session, source, "Trường khác khai giảng năm học")
    session.add(DocumentUnit(document_id=ours.id, unit_id=unit.id))
    session.commit()
    index_all_pending(session, get_backend(settings))
    session.commit()
    # when the focal point searches, then only its unit's document comes back
    login_as(app_client, "unit_focal", unit.id)
    hits = app_client.get("/api/v1/search", params={"q": "khai giang"}).json()["hits"]
    assert [h["id"] for h in hits] == [ours.id]
    assert app_client.get(f"/api/v1/documents/{ours.id}").status_code == 200
    assert app_client.get(f"/api/v1/documents/{other.id}").status_code == 404
    page = app_client.get(f"/tai-lieu/{other.id}", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "Không tìm thấy tài liệu." in page.text
    # and a press officer still sees both
    login_as(app_client, "press_officer")
    assert app_client.get("/api/v1/search", params={"q": "khai giang"}).json()["total"] == 2
