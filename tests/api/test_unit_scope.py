"""A unit focal point sees only its unit's coverage (search, documents, reports, dashboard,
case pages); without a unit it sees nothing, never the whole province."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alerts.detection.evaluate import evaluate
from api.cli import app as cli_app
from core.models import Alert, Document, DocumentUnit, Unit, User, utcnow
from core.search import SearchQuery, get_backend
from core.search.indexer import index_all_pending
from core.settings import Settings
from tests.factories import login_as, make_alert, make_document, make_source, make_unit


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


def _province_data(session: Session, settings: Settings) -> tuple[Unit, Document, Document]:
    """Coverage of two units this month, a hot case on a story spanning both, indexed."""
    source = make_source(session, "Báo Tỉnh Thử")
    unit, elsewhere = make_unit(session, "Trường THCS Lê Lợi"), make_unit(session, "Trường Khác")
    now = utcnow() - timedelta(hours=1)
    ours = make_document(session, source, "Lê Lợi khai giảng", published_at=now)
    other = make_document(session, source, "Bí mật trường khác", published_at=now)
    session.add(DocumentUnit(document_id=ours.id, unit_id=unit.id))
    session.add(DocumentUnit(document_id=other.id, unit_id=elsewhere.id))
    make_alert(session, "Vụ việc nóng toàn tỉnh", severity="critical", documents=[ours, other])
    session.commit()
    index_all_pending(session, get_backend(settings))
    session.commit()
    return unit, ours, other


def test_unit_focal_without_a_unit_sees_nothing_not_the_province(
    app_client: TestClient, session: Session, settings: Settings
) -> None:
    # given the province's coverage and a focal point whose unit was never set
    _province_data(session, settings)
    login_as(app_client, "unit_focal", None)
    # when they open the report, the dashboard and its API
    report = app_client.get("/api/v1/reports").json()
    volume = app_client.get("/api/v1/dashboard/volume", params={"days": 7}).json()
    sources = app_client.get("/api/v1/dashboard/sources").json()
    cases = app_client.get("/api/v1/dashboard/cases").json()
    pages = [app_client.get(p, headers={"Accept": "text/html"}) for p in ("/bao-cao", "/tong-quan")]
    # then they see nothing: no total, no source, no case title
    assert report["total"] == 0 and report["hot_cases"] == [] and report["by_source"] == {}
    assert sum(d["total"] for d in volume) == 0 and sources == []
    assert sum(c["total"] for c in cases) == 0
    for page in pages:
        assert page.status_code == 200
        assert "Vụ việc nóng toàn tỉnh" not in page.text and "Báo Tỉnh Thử" not in page.text
    assert app_client.get("/api/v1/cases").json()["items"] == []
    # while a press officer sees the province
    login_as(app_client, "press_officer")
    assert app_client.get("/api/v1/reports").json()["total"] == 2


def test_case_page_lists_only_the_focal_points_documents(
    app_client: TestClient, session: Session, settings: Settings
) -> None:
    # given a case whose story has a document of our unit and one of another unit
    unit, ours, other = _province_data(session, settings)
    case_id = session.scalar(select(Alert.id))
    login_as(app_client, "unit_focal", unit.id)
    # when the focal point opens the case (API and page)
    api = app_client.get(f"/api/v1/cases/{case_id}").json()
    page = app_client.get(f"/canh-bao/{case_id}", headers={"Accept": "text/html"})
    # then only their unit's document is listed
    assert [d["id"] for d in api["documents"]] == [ours.id]
    assert page.status_code == 200 and "Lê Lợi khai giảng" in page.text
    assert "Bí mật trường khác" not in page.text and other.url not in page.text


def test_cli_refuses_a_unit_focal_without_a_unit(settings: Settings, session: Session) -> None:
    unit = make_unit(session)
    session.commit()
    args = ["user", "add", "dau-moi", "--role", "unit_focal", "--password", "mua-thu-ha-noi"]
    refused = CliRunner().invoke(cli_app, args)
    assert refused.exit_code != 0 and "--unit" in refused.output
    ok = CliRunner().invoke(cli_app, [*args, "--unit", str(unit.id)])
    assert ok.exit_code == 0, ok.output
    session.rollback()
    user = session.scalar(select(User).where(User.username == "dau-moi"))
    assert user is not None and user.unit_id == unit.id


def test_units_linked_by_alert_evaluation_reach_the_search_index(
    app_client: TestClient, session: Session, settings: Settings
) -> None:
    # given a document indexed before the unit it names was in the registry
    source = make_source(session)
    doc = make_document(session, source, "Trường THCS Nguyễn Du tổ chức lễ khai giảng")
    session.commit()
    backend = get_backend(settings)
    index_all_pending(session, backend)
    session.commit()
    unit = make_unit(session, "Trường THCS Nguyễn Du")
    session.commit()
    # when alert evaluation links the unit to the document, and the indexer runs
    evaluate(session, doc.id, settings=settings)
    assert session.scalar(select(DocumentUnit.unit_id)) == unit.id
    index_all_pending(session, backend)
    session.commit()
    # then the unit filter (and the focal point's scope) finds it, as the report counts it
    assert backend.search(SearchQuery(units=[unit.id])).total == 1
    login_as(app_client, "unit_focal", unit.id)
    hits = app_client.get("/api/v1/search", params={"q": "khai giang"}).json()["hits"]
    assert [h["id"] for h in hits] == [doc.id]


def test_admin_cannot_leave_a_unit_focal_without_a_unit(
    app_client: TestClient, session: Session
) -> None:
    unit = make_unit(session)
    session.commit()
    login_as(app_client, "admin")
    new = {"username": "dau-moi-2", "password": "mua-thu-ha-noi", "role": "unit_focal"}
    refused = app_client.post("/api/v1/admin/users", json=new)
    assert refused.status_code in (400, 409, 422) and "đơn vị" in refused.text
    created = app_client.post("/api/v1/admin/users", json={**new, "unit_id": unit.id})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    # nor take the unit away later, nor make a unit-less user a focal point
    cleared = app_client.patch(f"/api/v1/admin/users/{user_id}", json={"unit_id": None})
    assert cleared.status_code in (400, 409, 422)
    other = app_client.post(
        "/api/v1/admin/users",
        json={"username": "van-phong", "password": "mua-thu-ha-noi", "role": "press_officer"},
    ).json()
    promoted = app_client.patch(f"/api/v1/admin/users/{other['id']}", json={"role": "unit_focal"})
    assert promoted.status_code in (400, 409, 422)
