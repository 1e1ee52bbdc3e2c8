"""The admin API takes a source's config with the CLI's checks; before, it could only be
written into the database by hand."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AuditLog, Source
from tests.api.pages.conftest import Seed

SOURCES = "/api/v1/admin/sources"


def test_admin_api_adds_and_edits_a_source_config(client_for, seeded: Seed, session) -> None:
    client = client_for("admin")
    # when: a site source is added with its sitemaps and limits
    r = client.post(
        SOURCES,
        json={
            "name": "Báo Site – Giáo dục",
            "url": "http://127.0.0.1:9/",
            "kind": "site",
            "config": {"sitemaps": ["http://127.0.0.1:9/sitemap.xml"], "since_days": 3},
        },
    )
    # then: stored and shown back
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["config"] == {"sitemaps": ["http://127.0.0.1:9/sitemap.xml"], "since_days": 3}
    # when: edited as a merge patch
    r = client.patch(
        f"{SOURCES}/{sid}",
        json={"config": {"concurrency": 2, "since_days": None}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["config"] == {"sitemaps": ["http://127.0.0.1:9/sitemap.xml"], "concurrency": 2}
    session.expire_all()
    assert session.get(Source, sid).config["concurrency"] == 2
    session.commit()


def test_admin_api_refuses_a_bad_config_in_vietnamese_and_saves_nothing(
    client_for, seeded: Seed, session
) -> None:
    client = client_for("admin")
    bad = client.post(
        SOURCES,
        json={"name": "Báo X", "url": "http://127.0.0.1:9/", "kind": "site",
              "config": {"since_days": "hai"}},
    )  # fmt: skip
    assert bad.status_code == 400
    assert "since_days phải là số ngày từ 0 đến 3650" in bad.json()["detail"]
    r = client.post(SOURCES, json={"name": "Báo Y", "url": "http://127.0.0.1:9/", "kind": "site"})
    sid = r.json()["id"]
    edit = client.patch(f"{SOURCES}/{sid}", json={"name": "Báo Z", "config": {"concurrency": 0}})
    assert edit.status_code == 400
    assert "concurrency phải là số nguyên từ 1 đến 64" in edit.json()["detail"]
    unknown = client.patch(f"{SOURCES}/{sid}", json={"config": {"selector": "a"}})
    assert unknown.status_code == 400 and "không có khóa «selector»" in unknown.json()["detail"]
    session.expire_all()
    source = session.get(Source, sid)
    assert (source.name, source.config) == ("Báo Y", {})
    assert session.scalar(select(Source).where(Source.name == "Báo X")) is None
    session.commit()


def test_admin_api_never_shows_or_audits_a_source_secret(client_for, seeded: Seed, session) -> None:
    client = client_for("admin")
    r = client.post(
        SOURCES,
        json={
            "name": "Trang Facebook Sở",
            "url": "https://www.facebook.com/sogddt",
            "kind": "facebook",
            "scope": "social",
            "config": {"page_id": "123", "access_token": "EAAB-bi-mat"},
        },
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["config"] == {"page_id": "123", "access_token": "***"}
    # when: the config is sent back as shown, with one change
    r = client.patch(f"{SOURCES}/{sid}", json={"config": {**r.json()["config"], "max_pages": 5}})
    assert r.status_code == 200, r.text
    listed = client.get(SOURCES).json()["items"]
    assert "EAAB-bi-mat" not in str(listed)
    # then: the token is kept, and the audit log never holds it
    session.expire_all()
    assert session.get(Source, sid).config["access_token"] == "EAAB-bi-mat"
    audit = session.scalars(select(AuditLog.data).where(AuditLog.entity == "source")).all()
    session.commit()
    assert len(audit) == 2 and "EAAB-bi-mat" not in str(audit)
