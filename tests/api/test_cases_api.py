"""The cases API: order, filters, counts, cursor pages, visibility, actions, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.models import DocumentUnit
from tests.factories import login_as, make_alert, make_document, make_source, make_unit, make_user

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _seed(session: Session) -> dict[str, int]:
    source = make_source(session)
    unit = make_unit(session, "Trường Tiểu học Hòa Bình")
    fee = make_document(session, source, "Lạm thu ở trường", topics=["hoc_phi_thu_chi"])
    session.add(DocumentUnit(document_id=fee.id, unit_id=unit.id))
    ids = {
        "low_old": make_alert(session, "Thấp cũ", severity="low", created_at=T0).id,
        "high_old": make_alert(session, "Cao cũ", severity="high", created_at=T0).id,
        "crit": make_alert(
            session, "Khẩn", severity="critical", created_at=T0 + timedelta(minutes=1)
        ).id,
        "high_new": make_alert(
            session, "Cao mới", severity="high", created_at=T0 + timedelta(hours=1), documents=[fee]
        ).id,
        "medium": make_alert(session, "Vừa", severity="medium", created_at=T0).id,
        "unit": unit.id,
    }
    session.commit()
    return ids


def test_list_sorted_by_severity_then_time_with_cursor_pages(
    app_client: TestClient, session: Session
) -> None:
    ids = _seed(session)
    login_as(app_client, "press_officer")
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = app_client.get("/api/v1/cases", params=params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [ids["crit"], ids["high_new"], ids["high_old"], ids["medium"], ids["low_old"]]
    assert page["counts"]["new"] == 5
    bad = app_client.get("/api/v1/cases", params={"cursor": "khong-hop-le"})
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


def test_filters_and_counts(app_client: TestClient, session: Session) -> None:
    ids = _seed(session)
    user = login_as(app_client, "press_officer")
    r = app_client.get("/api/v1/cases", params={"severity": "high"}).json()
    assert [c["id"] for c in r["items"]] == [ids["high_new"], ids["high_old"]]
    r = app_client.get("/api/v1/cases", params={"topic": "hoc_phi_thu_chi"}).json()
    assert [c["id"] for c in r["items"]] == [ids["high_new"]]
    assert r["items"][0]["doc_count"] == 1
    r = app_client.get("/api/v1/cases", params={"unit": ids["unit"]}).json()
    assert [c["id"] for c in r["items"]] == [ids["high_new"]]
    app_client.post(f"/api/v1/cases/{ids['crit']}/assign", json={"assignee_id": user.id})
    r = app_client.get("/api/v1/cases", params={"mine": "true"}).json()
    assert [c["id"] for c in r["items"]] == [ids["crit"]]
    r = app_client.get("/api/v1/cases", params={"status": "assigned"}).json()
    assert [c["id"] for c in r["items"]] == [ids["crit"]]
    assert r["counts"] == {
        "new": 4,
        "acknowledged": 0,
        "assigned": 1,
        "responded": 0,
        "closed": 0,
        "dismissed": 0,
    }
    for params in ({"status": "xyz"}, {"severity": "rất cao"}, {"topic": "abc"}):
        bad = app_client.get("/api/v1/cases", params=params)
        assert bad.status_code == 400 and "không hợp lệ" in bad.json()["detail"]


def test_unit_focal_sees_only_its_unit(app_client: TestClient, session: Session) -> None:
    ids = _seed(session)
    login_as(app_client, "unit_focal", ids["unit"])
    r = app_client.get("/api/v1/cases").json()
    assert [c["id"] for c in r["items"]] == [ids["high_new"]]
    assert sum(r["counts"].values()) == 1
    assert app_client.get(f"/api/v1/cases/{ids['high_new']}").status_code == 200
    assert app_client.get(f"/api/v1/cases/{ids['crit']}").status_code == 404
    # a focal point reads but does not work cases
    r = app_client.post(f"/api/v1/cases/{ids['high_new']}/acknowledge")
    assert r.status_code == 403


def test_actions_detail_and_errors(app_client: TestClient, session: Session) -> None:
    ids = _seed(session)
    login_as(app_client, "press_officer")
    colleague = make_user(session, "press_officer", full_name="Lê Thị Hoa")
    session.commit()
    case = f"/api/v1/cases/{ids['high_new']}"
    r = app_client.post(f"{case}/close")
    assert r.status_code == 422
    r = app_client.post(f"{case}/close", json={})
    assert r.status_code == 409
    assert r.json()["detail"] == "Không thể đóng cảnh báo đang ở trạng thái “Mới”."
    assert app_client.post(f"{case}/acknowledge").json()["status"] == "acknowledged"
    body = app_client.post(f"{case}/assign", json={"assignee_id": colleague.id}).json()
    assert body["assignee"] == {"id": colleague.id, "name": "Lê Thị Hoa"}
    r = app_client.post(f"{case}/attachments", json={"url": "javascript:alert(1)"})
    assert r.status_code == 409 and "https://" in r.json()["detail"]
    r = app_client.post(f"{case}/notes", json={"text": "Đã liên hệ nhà trường."})
    assert r.status_code == 201
    r = app_client.post(
        f"{case}/respond", json={"response": "Đã đính chính.", "kind": "correction"}
    )
    assert r.json()["status"] == "responded"
    detail = app_client.post(f"{case}/close", json={"note": "Xong"}).json()
    assert detail["status"] == "closed" and detail["status_label"] == "Đã đóng"
    assert [d["title"] for d in detail["documents"]] == ["Lạm thu ở trường"]
    assert detail["documents"][0]["outlet"] == "Báo Thử"
    kinds = [e["kind"] for e in app_client.get(f"{case}/events").json()]
    assert kinds == ["acknowledge", "assign", "note", "respond", "close"]
    assert app_client.get("/api/v1/cases/999999").status_code == 404
    updates = app_client.get("/api/v1/cases/updates", params={"after_id": ids["medium"]}).json()
    assert updates["items"] == [] and updates["max_id"] == ids["medium"]
    updates = app_client.get("/api/v1/cases/updates", params={"after_id": 0}).json()
    assert len(updates["items"]) == 5


def test_openapi_documents_cases_with_examples(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    assert "/api/v1/cases/{alert_id}/dismiss" in spec["paths"]
    dismiss = spec["components"]["schemas"]["DismissIn"]["properties"]["reason"]
    assert dismiss["examples"] == ["Không liên quan đến giáo dục"]


def test_inbox_page_filters_and_escapes(app_client: TestClient, session: Session) -> None:
    ids = _seed(session)
    make_alert(session, "<script>alert(1)</script> lạm thu", severity="low")
    session.commit()
    login_as(app_client, "leadership")
    page = app_client.get("/hop-thu", params={"severity": "high", "unit": str(ids["unit"])})
    assert page.status_code == 200
    assert f'data-id="{ids["high_new"]}"' in page.text
    assert f'data-id="{ids["high_old"]}"' not in page.text
    assert "Trường Tiểu học Hòa Bình" in page.text
    page = app_client.get("/hop-thu", params={"severity": "low"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt; lạm thu" in page.text
    assert "<script>alert(1)" not in page.text
    # leadership reads cases but sees no action forms
    case = app_client.get(f"/canh-bao/{ids['crit']}")
    assert case.status_code == 200 and 'value="acknowledge"' not in case.text


def test_a_refused_form_keeps_the_typed_text(app_client: TestClient, session: Session) -> None:
    ids = _seed(session)
    login_as(app_client, "press_officer")
    token = app_client.headers["X-CSRF-Token"]
    # given a new case, when a response is recorded before acknowledging it
    r = app_client.post(
        f"/canh-bao/{ids['crit']}",
        data={"csrf_token": token, "action": "respond", "text": "Bản nháp <i>quan trọng</i>"},
    )
    # then the page explains why and shows the unsaved draft (escaped)
    assert r.status_code == 409
    assert "Không thể ghi nhận phản hồi cảnh báo đang ở trạng thái “Mới”." in r.text
    assert '<span id="draft-text">Bản nháp &lt;i&gt;quan trọng&lt;/i&gt;</span>' in r.text
    r = app_client.post(
        f"/canh-bao/{ids['crit']}",
        data={"csrf_token": token, "action": "note", "text": "   "},
    )
    assert r.status_code == 409 and "Vui lòng nhập nội dung ghi chú." in r.text
    r = app_client.post(
        f"/canh-bao/{ids['crit']}",
        data={"csrf_token": token, "action": "attachment", "url": "javascript:alert(1)"},
    )
    assert r.status_code == 409 and 'value="javascript:alert(1)"' in r.text
    assert 'href="javascript' not in r.text


def test_case_page_shows_why_flagged(app_client: TestClient, session: Session) -> None:
    from core.models import Fact, Rule

    rule = Rule(name="Lạm thu", query='"lạm thu"', severity="high")
    fact = Fact(
        kind="refuted",
        statement="Trường thu 5 triệu đồng mỗi học sinh",
        correction="Sở GDĐT khẳng định không có khoản thu này.",
    )
    session.add_all([rule, fact])
    session.flush()
    alert = make_alert(
        session,
        "Tin đồn thu tiền",
        rule_id=rule.id,
        fact_id=fact.id,
        score=0.87,
        details={"risk_score": 0.91},
    )
    session.commit()
    login_as(app_client, "press_officer")
    body = app_client.get(f"/api/v1/cases/{alert.id}").json()
    assert body["rule"]["name"] == "Lạm thu" and body["fact"]["kind"] == "refuted"
    page = app_client.get(f"/canh-bao/{alert.id}").text
    for shown in (
        "Quy tắc: <b>Lạm thu</b>",
        "<dt>Điểm hiện tại</dt><dd>0,87</dd>",
        "<dt>Xác suất nội dung nóng</dt><dd>0,91</dd>",
        "đã bác bỏ",
    ):
        assert shown in page
    assert "risk_score" not in page
    assert "Sở GDĐT khẳng định không có khoản thu này." in page


def test_case_history_names_events_in_vietnamese(app_client: TestClient, session: Session) -> None:
    from core.models import AlertEvent

    alert = make_alert(session, "Vụ việc nóng lên", severity="high")
    session.add_all(
        [
            AlertEvent(alert_id=alert.id, kind="created", data={}),
            AlertEvent(alert_id=alert.id, kind="escalated", data={"from": "medium", "to": "high"}),
            AlertEvent(
                alert_id=alert.id,
                kind="reopened",
                from_status="closed",
                to_status="new",
                data={"severity": "high"},
            ),
        ]
    )
    session.commit()
    login_as(app_client, "press_officer")
    page = app_client.get(f"/canh-bao/{alert.id}").text
    history = page[page.index('id="history"') :]
    for shown in ("Tạo cảnh báo", "Nâng mức độ", "Trung bình → Cao", "Đã đóng → Mới", "Mở lại"):
        assert shown in history
    assert ">created<" not in history and "escalated ·" not in history
