"""Figures count education items (the classifier's relevance at the configured threshold) on
the dashboard, the report page and its DOCX/XLSX, as the digest does; a toggle counts all."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from alerts.notify.digest import build_digest
from api.main import create_app
from core.models import Source, utcnow
from core.settings import Settings
from tests.api.pages.conftest import Seed
from tests.factories import login_as, make_document

NOISE = "Giá vàng hôm nay tăng mạnh"


def add_recent(session: Session, seeded: Seed) -> None:
    """20 hours ago: two education items and three unrelated ones (relevance 0.1)."""
    src = session.get(Source, seeded.sources["a"])
    assert src is not None
    when = utcnow() - timedelta(hours=20)
    for topic in ("hoc_phi_thu_chi", "day_them"):
        make_document(session, src, f"Tin giáo dục {topic}", published_at=when, topics=[topic])
    for i in range(3):
        make_document(session, src, f"{NOISE} {i}", published_at=when, relevance=0.1)
    session.commit()


def test_dashboard_counts_education_items_by_default(client_for, seeded: Seed, session) -> None:
    # given 2 education items and 3 unrelated ones yesterday
    add_recent(session, seeded)
    client = client_for("press_officer")
    # when the dashboard and its JSON are read, with and without the toggle
    page = client.get("/tong-quan", params={"days": 7})
    everything = client.get("/tong-quan", params={"days": 7, "include_all": "true"})
    volume = client.get("/api/v1/dashboard/volume", params={"days": 7}).json()
    volume_all = client.get(
        "/api/v1/dashboard/volume", params={"days": 7, "include_all": "true"}
    ).json()
    topics = client.get("/api/v1/dashboard/topics", params={"days": 7}).json()
    # then only the 2 education items count, the threshold is shown, and the toggle counts 5
    assert "2 tin, bài trong 7 ngày gần nhất." in page.text
    assert "độ liên quan từ 0,50 trở lên" in page.text
    assert 'name="include_all"' in page.text
    assert "5 tin, bài trong 7 ngày gần nhất." in everything.text
    assert "mọi tin, bài đã thu thập" in everything.text
    assert sum(d["total"] for d in volume) == 2
    assert sum(d["total"] for d in volume_all) == 5
    assert {t["key"] for t in topics} == {"hoc_phi_thu_chi", "day_them"}


def test_threshold_is_the_configured_one_everywhere(settings: Settings, seeded: Seed, session):
    # given items at relevance 0.9 (2) and 0.1 (3), and a threshold raised to 0.95
    add_recent(session, seeded)
    strict = settings.copy_with(alerts={"relevance_threshold": 0.95})
    client = TestClient(create_app(strict))
    login_as(client, "press_officer")
    # when the dashboard and the digest of today are built
    page = client.get("/tong-quan", params={"days": 7})
    local = (utcnow() + timedelta(minutes=1)).astimezone(ZoneInfo(settings.timezone))
    day, send_at = local.date(), local.time().replace(second=0, microsecond=0)
    digest = build_digest(session, strict, day, send_at)
    normal = build_digest(session, settings, day, send_at)
    # then none counts at 0.95, on the page and in the digest alike; at 0.5 the digest has 2
    assert "0 tin, bài trong 7 ngày gần nhất." in page.text
    assert "0,95" in page.text
    assert digest.total == 0
    assert normal.total == 2
