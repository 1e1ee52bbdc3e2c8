"""Security headers: CSP without inline code, no framing, nosniff, referrer policy, and
no-store on pages (a new API token's secret above all)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.factories import login_as


def test_pages_and_api_answers_carry_the_security_headers(app_client: TestClient) -> None:
    login_as(app_client, "press_officer")
    for path in ("/dang-nhap", "/hop-thu", "/api/v1/me", "/khong-co-trang-nay"):
        r = app_client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, path
        assert "unsafe-inline" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store", path
    # static files stay cacheable; they hold nothing per user
    css = app_client.get("/static/app.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")


def test_new_token_page_is_not_stored(app_client: TestClient) -> None:
    login_as(app_client, "press_officer")
    r = app_client.post("/tai-khoan/ma-truy-cap", data={"name": "Bảng tính"})
    assert r.status_code == 200 and "dt_" in r.text
    assert r.headers["cache-control"] == "no-store"


def test_templates_have_no_inline_code_for_the_policy_to_block() -> None:
    root = Path(__file__).resolve().parents[2] / "api" / "templates"
    for page in root.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<style" not in text and " style=" not in text, page
        assert not re.search(r"\son[a-z]+=", text) and "javascript:" not in text, page
        for chunk in text.split("<script")[1:]:
            assert chunk.lstrip().startswith("src="), page
