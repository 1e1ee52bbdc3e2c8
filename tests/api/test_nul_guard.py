"""U+0000 in any request input gets a clear 422 and nothing is stored, on every backend
(PostgreSQL text cannot hold it; SQLite would have stored it)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.main import create_app
from core.models import Unit
from core.settings import Settings
from tests.factories import login_as


def test_nul_in_json_form_or_query_is_refused_and_nothing_stored(
    settings: Settings, session: Session
) -> None:
    with TestClient(create_app(settings)) as client:
        login_as(client, "admin")
        # when: NUL arrives as a JSON escape, in a form field and in the query string
        as_json = client.post("/api/v1/admin/units", json={"name": "\x00", "type": "truong"})
        as_form = client.post("/luu-tim-kiem", data={"name": "a\x00b", "q": "hoc phi"})
        as_query = client.get("/api/v1/search", params={"q": "giao\x00duc"})
        # then
        for r in (as_json, as_form, as_query):
            assert r.status_code == 422
            assert "NUL" in r.json()["detail"]
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
        session.commit()  # SQLite: our session's transaction holds the write lock
        # and ordinary input, "%00" text inside JSON included, still goes through
        ok = client.post("/api/v1/admin/units", json={"name": "Trường 100%00", "type": "truong"})
        assert ok.status_code in (200, 201), ok.text


def test_nul_in_any_json_media_type_is_refused(settings: Settings, session: Session) -> None:
    # FastAPI parses every application/*+json body (and one without Content-Type) as JSON
    with TestClient(create_app(settings)) as client:
        login_as(client, "admin")
        body = b'{"name": "quy t\\u0000c", "type": "truong"}'
        for ctype in (
            "application/x+json",
            "application/vnd.diemtin+json; charset=utf-8",
            "Application/JSON",
            None,
        ):
            headers = {"Content-Type": ctype} if ctype else {}
            r = client.post("/api/v1/admin/units", content=body, headers=headers)
            assert r.status_code == 422 and "NUL" in r.json()["detail"], (ctype, r.text)
        assert session.scalar(select(func.count()).select_from(Unit)) == 0
