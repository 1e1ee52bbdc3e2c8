"""Choosing the province: the admin pages' first-run form and its API."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.geo.choice import stored_province
from core.models import AuditLog


def test_first_run_prompt_until_the_province_is_chosen(
    client_for: Callable[..., TestClient],
    session: Session,
) -> None:
    admin = client_for("admin")
    # given: a fresh install without DIEMTIN_PROVINCE
    page = admin.get("/quan-tri").text
    assert "Chọn tỉnh/thành phố của Sở" in page
    assert 'data-api="/api/v1/province" data-method="PUT"' in page
    assert '<option value="Tỉnh Quảng Ngãi" >Tỉnh Quảng Ngãi</option>' in page
    assert admin.get("/api/v1/province").json()["code"] is None
    # when: the form is sent (as admin.js sends it), by an old name
    r = admin.put("/api/v1/province", json={"name": "Kon Tum"})
    # then
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["code"], body["name"], body["communes"]) == ("51", "Tỉnh Quảng Ngãi", 96)
    assert body["former_provinces"] == ["Tỉnh Quảng Ngãi", "Tỉnh Kon Tum"]
    assert body["neighbours"] == ["Thành phố Đà Nẵng", "Tỉnh Gia Lai"]
    assert body["chosen_by"] == "admin"
    session.expire_all()
    assert stored_province(session) == "51"
    assert session.scalar(select(AuditLog.entity_id).where(AuditLog.action == "province.set"))
    page = admin.get("/quan-tri").text
    assert "Chọn tỉnh/thành phố của Sở" not in page
    assert "Tỉnh/thành phố của Sở: <b>Tỉnh Quảng Ngãi</b> — 96 xã, phường, đặc khu" in page


def test_only_admins_choose_and_unknown_names_are_refused(
    client_for: Callable[..., TestClient],
    session: Session,
) -> None:
    officer = client_for("press_officer")
    assert officer.put("/api/v1/province", json={"name": "Quảng Ngãi"}).status_code == 403
    admin = client_for("admin")
    bad = admin.put("/api/v1/province", json={"name": "Atlantis"})
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("Không tìm thấy tỉnh/thành phố")
    assert stored_province(session) is None
