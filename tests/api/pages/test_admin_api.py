"""The admin JSON API: CRUD with clear errors, cursor pagination, nothing lost on bad input."""

from __future__ import annotations

from sqlalchemy import select

from core.models import Fact, Source, User
from core.security import verify_password
from tests.api.pages.conftest import Seed


def test_sources_add_edit_disable_and_health(client_for, seeded: Seed, session) -> None:
    client = client_for("admin")
    # when a source is added with the CLI's checks
    r = client.post(
        "/api/v1/admin/sources",
        json={"name": "Báo Mới – Giáo dục", "url": "http://127.0.0.1:9/rss", "scope": "local"},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["health"] == "unknown"
    # then a bad one is refused with the reason, and a duplicate name too
    bad = client.post("/api/v1/admin/sources", json={"name": "X", "url": "ftp://a.vn/x"})
    assert bad.status_code == 400 and "http://" in bad.json()["detail"]
    dup = client.post(
        "/api/v1/admin/sources", json={"name": "Báo Mới – Giáo dục", "url": "http://a.vn/"}
    )
    assert dup.status_code == 400 and "Đã có nguồn tin" in dup.json()["detail"]
    # when it fails for a while, the list shows it; disabling keeps its history
    src = session.get(Source, sid)
    src.health, src.consecutive_failures, src.last_error = "failing", 6, "HTTP 503"
    session.commit()
    listed = {s["id"]: s for s in client.get("/api/v1/admin/sources").json()["items"]}
    assert (listed[sid]["consecutive_failures"], listed[sid]["last_error"]) == (6, "HTTP 503")
    off = client.patch(f"/api/v1/admin/sources/{sid}", json={"enabled": False}).json()
    assert off["enabled"] is False and off["consecutive_failures"] == 6
    on = client.patch(f"/api/v1/admin/sources/{sid}", json={"enabled": True}).json()
    assert on["consecutive_failures"] == 0
    page = client.get("/quan-tri/nguon-tin").text
    assert "Báo Mới – Giáo dục" in page
    assert client.patch("/api/v1/admin/sources/999", json={"enabled": False}).status_code == 404


def test_cursor_pagination_walks_every_row_once(client_for, seeded: Seed) -> None:
    client = client_for("admin")
    for i in range(7):
        r = client.post(
            "/api/v1/admin/facts",
            json={"kind": "refuted", "statement": f"Tin đồn số {i}", "correction": "Sai."},
        )
        assert r.status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/admin/facts", params=params).json()
        seen += [f["statement"] for f in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Tin đồn số {i}" for i in range(7)] and pages == 3
    bad = client.get("/api/v1/admin/facts", params={"cursor": "không-phải-con-trỏ"})
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


def test_fact_bank_crud_keeps_embedding_empty(client_for, seeded: Seed, session) -> None:
    client = client_for("admin")
    r = client.post(
        "/api/v1/admin/facts",
        json={
            "kind": "verified",
            "statement": "Năm học 2025–2026 bắt đầu ngày 5/9.",
            "source_url": "https://sogddt.example.gov.vn/tb/1",
        },
    )
    fid = r.json()["id"]
    bad = client.put(
        f"/api/v1/admin/facts/{fid}",
        json={"kind": "verified", "statement": "x", "source_url": "javascript:alert(1)"},
    )
    assert bad.status_code == 400
    edited = client.put(
        f"/api/v1/admin/facts/{fid}", json={"kind": "refuted", "statement": "Nghỉ học cả tuần."}
    )
    assert edited.json()["kind"] == "refuted"
    fact = session.scalar(select(Fact).where(Fact.id == fid))
    assert fact.embedding is None and fact.statement == "Nghỉ học cả tuần."
    session.rollback()
    assert client.delete(f"/api/v1/admin/facts/{fid}").status_code == 204


def test_users_create_edit_role_unit_and_deactivate(client_for, seeded: Seed, session) -> None:
    client = client_for("admin")
    body = {"username": "dau.moi", "full_name": "Trần Văn Bình", "password": "mat-khau-dai"}
    no_unit = client.post("/api/v1/admin/users", json={**body, "role": "unit_focal"})
    assert no_unit.status_code == 400 and "đơn vị" in no_unit.json()["detail"]
    r = client.post(
        "/api/v1/admin/users",
        json={**body, "role": "unit_focal", "unit_id": seeded.units["p1"]},
    )
    assert r.status_code == 201 and "password" not in r.json()
    uid = r.json()["id"]
    short = client.patch(f"/api/v1/admin/users/{uid}", json={"password": "ngan"})
    assert short.status_code == 422
    out = client.patch(
        f"/api/v1/admin/users/{uid}",
        json={"role": "leadership", "unit_id": None, "active": False, "password": "moi-dai-hon"},
    ).json()
    assert (out["role"], out["unit_id"], out["active"]) == ("leadership", None, False)
    user = session.get(User, uid)
    assert verify_password("moi-dai-hon", user.password_hash)
    session.rollback()
    dup = client.post("/api/v1/admin/users", json={**body, "role": "press_officer"})
    assert dup.status_code == 400 and "đã tồn tại" in dup.json()["detail"]


def test_subscriptions_validate_time_channel_and_target(client_for, seeded: Seed) -> None:
    client = client_for("admin")
    good = {
        "kind": "digest",
        "channel": "email",
        "target": "lanhdao@sogddt.example.gov.vn",
        "send_at": "07:00",
        "quiet_hours": "22:00-06:00",
        "unit_id": seeded.units["s1"],
    }
    r = client.post("/api/v1/admin/subscriptions", json=good)
    assert r.status_code == 201, r.text
    for change in (
        {"send_at": "25:00"},
        {"send_at": "7h"},
        {"quiet_hours": "22-06"},
        {"channel": "sms"},
        {"target": "khong-phai-email"},
        {"channel": "webhook", "target": "ftp://x"},
        {"unit_id": 999},
    ):
        bad = client.post("/api/v1/admin/subscriptions", json={**good, **change})
        assert bad.status_code in (400, 404, 422), change
        assert bad.json()["detail"], change
    sid = r.json()["id"]
    edited = client.put(f"/api/v1/admin/subscriptions/{sid}", json={**good, "send_at": "06:30"})
    assert edited.json()["send_at"] == "06:30"
    items = client.get("/api/v1/admin/subscriptions").json()["items"]
    assert [s["send_at"] for s in items] == ["06:30"]


def test_units_edit(client_for, seeded: Seed) -> None:
    client = client_for("admin")
    uid = seeded.units["s2"]
    r = client.put(
        f"/api/v1/admin/units/{uid}",
        json={"name": "Trường Tiểu học Lê Lợi", "type": "truong", "aliases": ["TH Lê Lợi", " "]},
    )
    assert r.json()["aliases"] == ["TH Lê Lợi"]
    assert client.put(f"/api/v1/admin/units/{uid}", json={"name": " "}).status_code == 400
    # a type outside the registry's four (blank included) is refused, not stored as ""
    for kind in (" ", "", "phong", "<b>x</b>"):
        bad = client.put(f"/api/v1/admin/units/{uid}", json={"name": "Trường A", "type": kind})
        assert bad.status_code == 422, kind
    assert client.get("/api/v1/admin/units").json()["items"][0]["type"] in (
        "so",
        "phong_gddt",
        "truong",
        "khac",
    )
