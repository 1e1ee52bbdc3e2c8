"""Every write of the admin pages, the rules API and the search page leaves an audit row."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import AuditLog, User
from tests.api.pages.conftest import Seed, post_form


def audit_rows(session: Session) -> list[tuple[int | None, str, str, str | None, dict]]:
    session.expire_all()
    rows = session.scalars(select(AuditLog).where(~AuditLog.action.startswith("auth.")))
    found = [(r.actor_id, r.action, r.entity, r.entity_id, r.data) for r in rows]
    session.commit()  # SQLite: release the lock the app's writes need
    return found


def me(session: Session, client) -> int:  # type: ignore[no-untyped-def]
    username = client.get("/api/v1/me").json()["username"]
    user_id = session.scalar(select(User.id).where(User.username == username))
    session.commit()  # SQLite: release the lock the app's writes need
    return user_id  # type: ignore[return-value]


def test_admin_writes_leave_audit_rows(client_for, seeded: Seed, session: Session) -> None:
    # given an admin
    client = client_for("admin")
    admin = me(session, client)
    # when they add a source, write a rule, add a user and remove a subscription
    src = client.post(
        "/api/v1/admin/sources", json={"name": "Báo Kiểm Toán", "url": "http://127.0.0.1:9/rss"}
    ).json()["id"]
    rule = client.post("/api/v1/rules", json={"name": "Học phí", "query": "hoc phi"}).json()["id"]
    client.put(f"/api/v1/rules/{rule}", json={"name": "Học phí 2", "query": "hoc phi"})
    assert client.delete(f"/api/v1/rules/{rule}").status_code == 204
    user = client.post(
        "/api/v1/admin/users",
        json={"username": "kiem.toan", "password": "mat-khau-dai-9", "role": "leadership"},
    ).json()["id"]
    sub = client.post(
        "/api/v1/admin/subscriptions",
        json={"kind": "digest", "channel": "email", "target": "a@so.example.vn"},
    ).json()["id"]
    assert client.delete(f"/api/v1/admin/subscriptions/{sub}").status_code == 204
    # then each write has its row: actor, action, entity and id, with what was submitted
    rows = audit_rows(session)
    assert [(a, act, ent, eid) for a, act, ent, eid, _ in rows] == [
        (admin, "source.create", "source", str(src)),
        (admin, "rule.create", "rule", str(rule)),
        (admin, "rule.update", "rule", str(rule)),
        (admin, "rule.delete", "rule", str(rule)),
        (admin, "user.create", "user", str(user)),
        (admin, "subscription.create", "subscription", str(sub)),
        (admin, "subscription.delete", "subscription", str(sub)),
    ]
    assert rows[0][4]["name"] == "Báo Kiểm Toán"
    assert rows[2][4]["name"] == "Học phí 2"
    # a password is never written to the log, only that one was set
    assert "password" not in rows[4][4] and rows[4][4]["password_changed"] is True
    assert "mat-khau-dai-9" not in str(rows)


def test_refused_writes_leave_no_audit_row(client_for, seeded: Seed, session: Session) -> None:
    client = client_for("admin")
    assert client.post("/api/v1/admin/sources", json={"name": "X", "url": "ftp://a"}).is_error
    assert client.post("/api/v1/rules", json={"name": "x", "query": "a OR -b"}).is_error
    assert client.delete("/api/v1/admin/facts/999").status_code == 404
    assert audit_rows(session) == []


def test_search_page_and_unit_import_are_audited(
    client_for, seeded: Seed, session: Session
) -> None:
    # given a press officer who saves a search, and an admin who imports units
    officer = client_for("press_officer")
    r = post_form(officer, "/luu-tim-kiem", {"name": "Lạm thu", "q": "lam thu"})
    assert r.status_code == 200  # followed back to the search page
    admin = client_for("admin")
    files = {"file": ("dv.csv", "name,type\nTrường Mới,truong\n,truong\n".encode(), "text/csv")}
    assert post_form(admin, "/quan-tri/don-vi/nhap", files=files).status_code == 200
    rows = audit_rows(session)
    # then the rule names its origin, the import its counts
    assert [(a, act, ent) for a, act, ent, _, _ in rows] == [
        (me(session, officer), "rule.create", "rule"),
        (me(session, admin), "unit.import", "unit"),
    ]
    assert rows[0][4]["origin"] == "search_page" and rows[0][4]["query"] == "lam thu"
    assert rows[1][4] == {"file": "dv.csv", "created": 1, "updated": 0, "errors": 1, "unplaced": 0}


def test_a_tip_is_audited(client_for, seeded: Seed, session: Session) -> None:
    officer = client_for("press_officer")
    tip = {
        "text": "Phụ huynh phản ánh: trường tiểu học Bình Minh thu 300.000 đồng tiền máy lạnh.",
        "submitted_by": "Phụ huynh qua Zalo OA",
        "channel": "zalo",
    }
    r = officer.post("/api/v1/tips", json=tip)
    assert r.status_code == 201, r.text
    first = r.json()
    officer.post("/api/v1/tips", json=tip)
    rows = audit_rows(session)
    assert [(a, act, ent, eid, d) for a, act, ent, eid, d in rows] == [
        (me(session, officer), "tip.create", "document", first["id"], {"duplicate": False}),
        (me(session, officer), "tip.create", "document", first["id"], {"duplicate": True}),
    ]
