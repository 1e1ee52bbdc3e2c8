"""Every page of part B renders, in Vietnamese, for the roles allowed to see it."""

from __future__ import annotations

import pytest

from tests.api.pages.conftest import Seed

PAGES = [
    "/",
    "/?q=hai+chau&from=2025-09-01&to=2025-11-30&histogram=day",
    "/tong-quan",
    "/tong-quan?days=365",
    "/bao-cao?ky=2025-10",
    "/bao-cao?ky=2025-2026:HK1",
    "/bao-cao?ky=2025-2026",
    "/quan-tri",
    "/quan-tri/nguon-tin",
    "/quan-tri/quy-tac",
    "/quan-tri/don-vi",
    "/quan-tri/ngan-hang-thong-tin",
    "/quan-tri/nguoi-dung",
    "/quan-tri/dang-ky-nhan-tin",
]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_for_admin(client_for, seeded: Seed, path: str) -> None:
    # given an admin
    client = client_for("admin")
    # when the page is opened
    r = client.get(path)
    # then it renders as Vietnamese HTML carrying the CSRF meta tag for its scripts
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in r.text
    assert 'name="csrf-token"' in r.text


def test_report_page_shows_month_figures(client_for, seeded: Seed) -> None:
    r = client_for("leadership").get("/bao-cao", params={"ky": "2025-10"})
    assert r.status_code == 200
    assert "Tháng 10/2025" in r.text
    assert "Tổng số tin, bài về giáo dục: 4." in r.text
    assert "Học phí, thu chi" in r.text


def test_dashboard_counts_recent_coverage(client_for, seeded: Seed, session, settings) -> None:
    from datetime import timedelta

    from core.models import DocumentUnit, Source, utcnow
    from core.search import get_backend
    from core.search.indexer import index_all_pending
    from tests.factories import make_document

    # given two articles of the last days (the seed is from 2025)
    src = session.get(Source, seeded.sources["a"])
    for sentiment in ("tich_cuc", "tieu_cuc"):
        doc = make_document(
            session,
            src,
            "Tin mới về giáo dục",
            published_at=utcnow() - timedelta(days=1),
            topics=["chinh_sach"],
            sentiment=sentiment,
        )
    session.add(DocumentUnit(document_id=doc.id, unit_id=seeded.units["p1"]))
    session.commit()
    index_all_pending(session, get_backend(settings))
    session.commit()
    client = client_for("press_officer")
    # when the dashboard's JSON is read
    volume = client.get("/api/v1/dashboard/volume", params={"days": 7}).json()
    topics = client.get("/api/v1/dashboard/topics", params={"days": 7}).json()
    cases = client.get("/api/v1/dashboard/cases").json()
    # then the counts are those of the last 7 local days, and old open cases are > 7 days
    assert len(volume) == 7
    assert sum(d["total"] for d in volume) == 2
    assert sum(d["tich_cuc"] for d in volume) == 1
    assert topics == [{"key": "chinh_sach", "label": "Chủ trương, chính sách", "count": 2}]
    sources = client.get("/api/v1/dashboard/sources", params={"days": 7}).json()
    assert sources == [{"key": str(src.id), "label": "Báo Giáo dục Thử", "count": 2}]
    units = client.get("/api/v1/dashboard/units", params={"days": 7}).json()
    assert units == [{"key": str(seeded.units["p1"]), "label": "Phòng GDĐT Hải Châu", "count": 1}]
    assert {c["age"]: c["total"] for c in cases}["> 7 ngày"] == 1
    focal = client_for("unit_focal", unit_id=seeded.units["p1"])
    mine = focal.get("/api/v1/dashboard/volume", params={"days": 7}).json()
    assert sum(d["total"] for d in mine) == 1  # only the article naming their unit
    page = client.get("/tong-quan", params={"days": 7})
    assert "2 tin, bài trong 7 ngày gần nhất." in page.text
    assert "<svg" in page.text


@pytest.mark.parametrize("path", ["/quan-tri", "/quan-tri/nguoi-dung", "/api/v1/admin/users"])
@pytest.mark.parametrize("role", ["press_officer", "leadership", "unit_focal"])
def test_admin_pages_refuse_other_roles(client_for, seeded: Seed, path: str, role: str) -> None:
    r = client_for(role, unit_id=seeded.units["p1"]).get(path)
    assert r.status_code == 403
    assert "không có quyền" in r.json()["detail"]


def test_leadership_cannot_write_rules(client_for, seeded: Seed) -> None:
    r = client_for("leadership").post("/api/v1/rules", json={"name": "x", "query": "học phí"})
    assert r.status_code == 403
    assert client_for("leadership").get("/api/v1/rules").status_code == 200


def test_unit_focal_sees_only_its_unit(client_for, seeded: Seed) -> None:
    # given the focal point of the school s1
    client = client_for("unit_focal", unit_id=seeded.units["s1"])
    # when they search everything and read the school-year report
    hits = client.get("/api/v1/search", params={"q": ""}).json()
    report = client.get("/api/v1/reports", params={"period": "2025-2026"}).json()
    page = client.get("/", params={"q": ""})
    # then only documents and cases naming their unit appear
    assert {h["id"] for h in hits["hits"]} == {seeded.docs["d3"], seeded.docs["d6"]}
    assert report["total"] == 2
    assert report["cases_total"] == 1
    assert [t["name"] for t in report["positive_targets"]] == ["Trường THCS Nguyễn Huệ"]
    assert "Giáo viên Hải Châu" not in page.text
