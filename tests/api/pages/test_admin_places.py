"""Sources and units carry their place on the 2025 map through the admin API and pages:
a source's scope and province, a unit's commune (which sets its province)."""

from __future__ import annotations

from sqlalchemy import select

from core.geo.choice import set_province
from core.models import Source
from tests.api.pages.conftest import Seed, post_form

QUANG_NGAI, DAK_HA, CAM_THANH = "51", "23500", "21025"


def test_a_local_source_carries_its_province(client_for, seeded: Seed) -> None:
    client = client_for("admin")
    # given a local outlet added with its province
    r = client.post(
        "/api/v1/admin/sources",
        json={
            "name": "Báo Quảng Ngãi thử",
            "url": "http://127.0.0.1:9/rss",
            "scope": "local",
            "province": QUANG_NGAI,
        },
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["province"] == QUANG_NGAI
    # then the sources page shows its scope and province by name
    page = client.get("/quan-tri/nguon-tin").text
    assert "Địa phương" in page and "Tỉnh Quảng Ngãi" in page
    # an unknown province is refused with the reason
    bad = client.patch(f"/api/v1/admin/sources/{sid}", json={"province": "99"})
    assert bad.status_code == 400 and "Không có tỉnh/thành mã «99»" in bad.json()["detail"]
    # an edit that does not name the province keeps it; "" clears it
    kept = client.patch(f"/api/v1/admin/sources/{sid}", json={"enabled": False}).json()
    assert kept["province"] == QUANG_NGAI
    cleared = client.patch(f"/api/v1/admin/sources/{sid}", json={"province": ""}).json()
    assert cleared["province"] is None


def test_a_unit_placed_in_a_commune(client_for, seeded: Seed, session) -> None:
    # given the Department of Quảng Ngãi
    set_province(session, "Quảng Ngãi")
    session.commit()
    client = client_for("admin")
    # when a commune office of the 2-level map is added in Đăk Hà
    r = client.post(
        "/api/v1/admin/units",
        json={"name": "Phòng Văn hóa – Xã hội xã Đăk Hà", "type": "vhxh_xa", "commune": DAK_HA},
    )
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    # then its province comes from its commune
    assert (r.json()["province"], r.json()["commune"]) == (QUANG_NGAI, DAK_HA)
    # and the units page lists it by commune name, and offers the province's communes
    page = client.get("/quan-tri/don-vi").text
    assert "Xã Đăk Hà" in page and "Phòng Văn hóa – Xã hội xã/phường" in page
    assert f'value="{CAM_THANH}"' in page
    # an edit that does not send the place keeps it
    kept = client.put(
        f"/api/v1/admin/units/{uid}", json={"name": "Phòng VH-XH Đăk Hà", "type": "vhxh_xa"}
    ).json()
    assert kept["commune"] == DAK_HA
    # a commune of another province than the one given is refused
    bad = client.put(
        f"/api/v1/admin/units/{uid}",
        json={"name": "X", "type": "vhxh_xa", "province": "79", "commune": DAK_HA},
    )
    assert bad.status_code == 422 and "không thuộc tỉnh/thành đã chọn" in bad.text
    bad_type = client.put(f"/api/v1/admin/units/{uid}", json={"name": "X", "type": "phong"})
    assert bad_type.status_code == 422


def test_the_import_page_lists_units_it_could_not_place(client_for, session) -> None:
    # given the Department of Quảng Ngãi and an old registry with a district split eight ways
    set_province(session, "Quảng Ngãi")
    session.commit()
    registry = "tên,loại,huyện\nPhòng GDĐT huyện Ba Tơ,phong_gddt,Huyện Ba Tơ\n"
    registry += "Phòng GDĐT huyện Đăk Hà,phong_gddt,Huyện Đắk Hà (Kon Tum cũ)\n"
    files = {"file": ("cu.csv", registry.encode(), "text/csv")}
    # when it is imported from the units page
    page = post_form(client_for("admin"), "/quan-tri/don-vi/nhap", files=files).text
    # then both are imported (the "(Kon Tum cũ)" aside read past), and the one not placed
    # is listed with why
    assert "Thêm mới 2, cập nhật 0, không đổi 0, lỗi 0 dòng." in page
    assert "Chưa xác định được xã/phường của 1 đơn vị" in page
    assert "Huyện Ba Tơ (cũ) nay thuộc 8 xã/phường" in page
    # the page names the 2-level map's unit types
    assert "<code>vhxh_xa</code>: Phòng Văn hóa – Xã hội xã/phường" in page


def test_the_admin_first_run_form_registers_the_sources(client_for, seeded: Seed, session) -> None:
    r = client_for("admin").put("/api/v1/province", json={"name": "Quảng Ngãi"})
    assert r.status_code == 200, r.text
    session.expire_all()
    rows = session.execute(select(Source.name, Source.province)).tuples().all()
    assert ("Báo và Phát thanh, Truyền hình Quảng Ngãi", QUANG_NGAI) in rows
    assert ("Sở GDĐT Quảng Ngãi", QUANG_NGAI) in rows
