"""Save a search as an alert rule; export results as CSV that Excel opens safely."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from alerts.detection.evaluate import evaluate
from core.models import Document, Rule
from tests.api.pages.conftest import FORMULA_TITLE, HOSTILE_TITLE, Seed, post_form


def test_search_saved_as_rule_raises_alerts(client_for, seeded: Seed, session) -> None:
    # given a press officer's search with filters
    client = client_for("press_officer")
    form = {
        "name": "Lạm thu",
        "q": "lam thu",
        "risk": ["nong", "theo_doi"],
        "unit": [str(seeded.units["p1"])],
        "severity": "high",
        "notify": ["email", "zalo"],
    }
    # when it is saved from the search page (the form carries its csrf_token)
    r = post_form(client, "/luu-tim-kiem", form, follow_redirects=False)
    # then the rule holds the query, filters, severity and channels, and the page says so
    assert r.status_code == 303
    back = parse_qs(urlsplit(r.headers["location"]).query)
    assert back["q"] == ["lam thu"] and back["risk"] == ["nong", "theo_doi"]
    rule = session.scalar(select(Rule).where(Rule.id == int(back["luu"][0])))
    assert rule.query == "lam thu"
    assert rule.filters == {"risks": ["nong", "theo_doi"], "units": [seeded.units["p1"]]}
    assert (rule.severity, rule.notify) == ("high", ["email", "zalo"])
    page = client.get(r.headers["location"])
    assert f"Đã lưu tìm kiếm thành quy tắc cảnh báo #{rule.id}" in page.text
    # and the rule matches the seeded over-collection article (accent-insensitive)
    alerts = evaluate(session, seeded.docs["d1"]).touched
    assert [a.rule_id for a in alerts] == [rule.id]


def test_saved_search_keeps_its_source_scope(client_for, seeded: Seed, session) -> None:
    # given the over-collection article, published by an outlet of some scope
    doc = session.get(Document, seeded.docs["d1"])
    own = doc.source.scope
    other = next(s for s in ("national", "local", "social") if s != own)
    session.commit()  # SQLite: this session's open transaction would block the app's writes
    client = client_for("press_officer")
    ids = {}
    for scope in (own, other):
        # when the same search is saved once per source scope
        form = {"name": f"Lạm thu ({scope})", "q": "lam thu", "scope": [scope], "notify": []}
        r = post_form(client, "/luu-tim-kiem", form, follow_redirects=False)
        assert r.status_code == 303
        assert parse_qs(urlsplit(r.headers["location"]).query)["scope"] == [scope]
        ids[scope] = int(parse_qs(urlsplit(r.headers["location"]).query)["luu"][0])
    # then each rule keeps its scope, and only the one of the article's scope fires
    rule = session.scalar(select(Rule).where(Rule.id == ids[own]))
    assert rule.filters == {"scopes": [own]}
    assert [a.rule_id for a in evaluate(session, doc.id).touched] == [ids[own]]


def test_save_search_refuses_broken_query_and_keeps_nothing(client_for, seeded, session) -> None:
    client = client_for("press_officer")
    # a form without its CSRF token is refused before anything is read
    token = client.headers.pop("X-CSRF-Token")
    r = client.post("/luu-tim-kiem", data={"name": "Giả mạo", "q": "hoc phi"})
    assert r.status_code == 403 and "CSRF" in r.text
    client.headers["X-CSRF-Token"] = token
    r = post_form(client, "/luu-tim-kiem", {"name": "Trống", "q": "KHÔNG"})
    assert r.status_code == 400
    assert "quy tắc cần có từ khóa" in r.text.lower() or "từ khóa" in r.text
    r = post_form(client, "/luu-tim-kiem", {"name": "Sai", "q": "hoc phi", "topic": ["khong_co"]})
    assert r.status_code == 400 and "chủ đề không hợp lệ" in r.text
    assert session.scalars(select(Rule)).all() == []


def test_rule_api_validates_query_syntax(client_for, seeded: Seed) -> None:
    client = client_for("admin")
    bad = client.post("/api/v1/rules", json={"name": "x", "query": "a OR -b"})
    assert bad.status_code == 400
    assert "HOẶC/OR" in bad.json()["detail"]
    good = client.post(
        "/api/v1/rules",
        json={"name": "Bạo lực", "query": '"bạo lực" VÀ hoc sinh', "severity": "critical"},
    )
    assert good.status_code == 201
    rid = good.json()["id"]
    edited = client.put(
        f"/api/v1/rules/{rid}", json={"name": "Bạo lực 2", "query": "danh nhau", "enabled": False}
    )
    assert edited.json()["enabled"] is False and edited.json()["name"] == "Bạo lực 2"
    assert client.delete(f"/api/v1/rules/{rid}").status_code == 204
    assert client.get(f"/api/v1/rules/{rid}").status_code == 404


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_keeps_vietnamese_and_neutralises_formulas(client_for, seeded: Seed) -> None:
    # when the October 2025 results are exported
    r = client_for("press_officer").get(
        "/api/v1/search/export.csv", params={"from": "2025-10-01", "to": "2025-10-31"}
    )
    # then every article is there, newest first, in Vietnamese, and no cell is a formula
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = read_csv(r.content)
    assert [row["Tiêu đề"] for row in rows] == [
        "'" + FORMULA_TITLE,
        "Học sinh Nguyễn Huệ đoạt huy chương",
        "Giáo viên Hải Châu đạt giải thưởng",
        HOSTILE_TITLE,
    ]
    assert rows[1]["Chủ đề"] == "Gương điển hình; Mầm non"
    assert rows[1]["Sắc thái"] == "Tích cực"
    assert rows[3]["Thời gian đăng"] == "2025-10-03 09:00"  # 02:00 UTC shown in Hà Nội time
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


def test_csv_export_filters_and_bad_query(client_for, seeded: Seed) -> None:
    client = client_for("admin")
    rows = read_csv(
        client.get("/api/v1/search/export.csv", params={"sentiment": "tich_cuc"}).content
    )
    assert len(rows) == 4
    assert client.get("/api/v1/search/export.csv", params={"q": "a OR -b"}).status_code == 400
    assert client.get("/api/v1/search/export.csv", params={"topic": "xyz"}).status_code == 400
