"""notify_alert end to end with a real SMTP server: once per alert and level, escaped
content, quiet hours, rate limits folded into bundles, rule and unit recipients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.notify.outbox import dispatch_due
from alerts.notify.recipients import (
    next_bundle_at,
    notify_alert,
    quiet_until,
    recipients_for,
    send_bundles,
)
from core.models import Notification, Role, Rule, Unit, User
from core.settings import Settings
from tests.alerts.conftest import FakeApi, SmtpServer, make_alert, parts, subscribe
from tests.factories import make_document, make_source

# 10:00 in Hà Nội
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
EVIL = 'Học sinh bị đánh <script>alert("x")</script> & "nhục mạ"'


def statuses(session: Session) -> list[tuple[str, str, str]]:
    session.expire_all()
    q = select(Notification.kind, Notification.status, Notification.target)
    return [tuple(r) for r in session.execute(q.order_by(Notification.id))]  # type: ignore[misc]


def test_immediate_alert_arrives_once_escaped(
    session: Session, notify_settings: Settings, smtp_server: SmtpServer
) -> None:
    # given a critical alert with a scraped title carrying markup, and one of its articles
    source = make_source(session, name="Báo <b>Lạ</b>")
    doc = make_document(session, source, EVIL, "Nội dung")
    doc.url = "javascript:alert(1)"
    alert = make_alert(session, EVIL, severity="critical", details={"documents": [doc.id]})
    subscribe(session, "giam.doc@so-gddt.vn", channel="email")
    # when notify_alert runs twice (a redelivered task) and the dispatcher runs twice
    assert notify_alert(session, notify_settings, alert.id, now=NOW)["immediate"] == 1
    assert notify_alert(session, notify_settings, alert.id, now=NOW)["duplicate"] == 1
    dispatch_due(session, notify_settings, now=NOW)
    dispatch_due(session, notify_settings, now=NOW + timedelta(minutes=1))
    # then exactly one email arrived, Vietnamese subject, the title shown as text
    (msg,) = smtp_server.messages
    assert msg["Subject"] == f"[Khẩn] Tình huống nóng: {EVIL}"
    text, html = parts(msg)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Báo &lt;b&gt;Lạ&lt;/b&gt;" in html and "javascript:" not in html
    assert f'href="https://diemtin.so-gddt.vn/canh-bao/{alert.id}"' in html
    assert f"/tai-lieu/{doc.id}" in html and "Mở hồ sơ cảnh báo" in html
    assert EVIL in text and f"https://diemtin.so-gddt.vn/canh-bao/{alert.id}" in text
    assert "Mức độ Khẩn cấp".lower() in text.lower()


def test_escalation_notifies_again_once(
    session: Session, notify_settings: Settings, smtp_server: SmtpServer
) -> None:
    alert = make_alert(session, "Lạm thu ở trường THCS", severity="high")
    subscribe(session, "van.phong@so-gddt.vn")
    notify_alert(session, notify_settings, alert.id, now=NOW)
    alert.severity, alert.escalation_level = "critical", 1
    session.commit()
    for _ in range(2):
        notify_alert(session, notify_settings, alert.id, now=NOW + timedelta(minutes=5))
    dispatch_due(session, notify_settings, now=NOW + timedelta(minutes=5))
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects == [
        "[Quan trọng] Tình huống nóng: Lạm thu ở trường THCS",
        "[Khẩn] Tình huống nóng (nâng mức cảnh báo): Lạm thu ở trường THCS",
    ]


def test_quiet_hours(session: Session, notify_settings: Settings, smtp_server: SmtpServer) -> None:
    # given a subscriber with quiet hours 22:00-06:00; it is 23:00 in Hà Nội
    night = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    subscribe(session, "pho.giam.doc@so-gddt.vn", quiet_hours="22:00-06:00")
    high = make_alert(session, "Tin cao", severity="high")
    critical = make_alert(session, "Tin khẩn", severity="critical")
    # when both alerts are notified
    notify_alert(session, notify_settings, high.id, now=night)
    notify_alert(session, notify_settings, critical.id, now=night)
    dispatch_due(session, notify_settings, now=night)
    # then only the critical one goes through at night
    assert [m["Subject"] for m in smtp_server.messages] == ["[Khẩn] Tình huống nóng: Tin khẩn"]
    # and the other waits until 06:00 local
    dispatch_due(session, notify_settings, now=datetime(2026, 11, 23, 22, 59, tzinfo=UTC))
    assert len(smtp_server.messages) == 1
    dispatch_due(session, notify_settings, now=datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    assert smtp_server.messages[-1]["Subject"] == "[Quan trọng] Tình huống nóng: Tin cao"


def test_quiet_until() -> None:
    tz = "Asia/Ho_Chi_Minh"
    assert quiet_until("22:00-06:00", datetime(2026, 1, 1, 16, 0, tzinfo=UTC), tz) == datetime(
        2026, 1, 1, 23, 0, tzinfo=UTC
    )
    assert quiet_until("22:00-06:00", datetime(2026, 1, 1, 20, 0, tzinfo=UTC), tz) == datetime(
        2026, 1, 1, 23, 0, tzinfo=UTC
    )
    assert quiet_until("22:00-06:00", datetime(2026, 1, 1, 3, 0, tzinfo=UTC), tz) is None
    assert quiet_until("12:00-13:30", datetime(2026, 1, 1, 5, 10, tzinfo=UTC), tz) == datetime(
        2026, 1, 1, 6, 30, tzinfo=UTC
    )
    assert quiet_until("", datetime(2026, 1, 1, 16, 0, tzinfo=UTC), tz) is None
    assert quiet_until("mười giờ", datetime(2026, 1, 1, 16, 0, tzinfo=UTC), tz) is None
    assert next_bundle_at(NOW + timedelta(minutes=10), 60) == NOW + timedelta(hours=1)


def test_rate_limit_folds_into_bundle(
    session: Session, notify_settings: Settings, smtp_server: SmtpServer
) -> None:
    # given a limit of 2 immediate messages an hour
    settings = notify_settings.copy_with(notify={"max_per_hour": 2})
    subscribe(session, "van.phong@so-gddt.vn")
    titles = [f"Tin nóng số {i}" for i in range(4)]
    for i, title in enumerate(titles):
        alert = make_alert(session, title, severity="high")
        notify_alert(session, settings, alert.id, now=NOW + timedelta(minutes=i))
    low = make_alert(session, "Tin <i>thấp</i>", severity="low")
    notify_alert(session, settings, low.id, now=NOW + timedelta(minutes=5))
    dispatch_due(session, settings, now=NOW + timedelta(minutes=6))
    # then two went at once and three wait, none dropped
    assert [m["Subject"] for m in smtp_server.messages] == [
        "[Quan trọng] Tình huống nóng: Tin nóng số 0",
        "[Quan trọng] Tình huống nóng: Tin nóng số 1",
    ]
    assert [s for _, s, _ in statuses(session)].count("held") == 3
    # a critical alert still goes out at once, over the limit
    critical = make_alert(session, "Tin khẩn", severity="critical")
    notify_alert(session, settings, critical.id, now=NOW + timedelta(minutes=7))
    dispatch_due(session, settings, now=NOW + timedelta(minutes=7))
    assert smtp_server.messages[-1]["Subject"] == "[Khẩn] Tình huống nóng: Tin khẩn"
    # when the bundle runs before the hour: nothing; at the hour: one bundle, once
    assert send_bundles(session, settings, now=NOW + timedelta(minutes=30)) == 0
    top = next_bundle_at(NOW, 60)
    assert send_bundles(session, settings, now=top) == 1
    assert send_bundles(session, settings, now=top + timedelta(minutes=1)) == 0
    dispatch_due(session, settings, now=top)
    bundle = smtp_server.messages[-1]
    assert len(smtp_server.messages) == 4
    assert bundle["Subject"] == "Tổng hợp 3 cảnh báo chưa gửi"
    text, html = parts(bundle)
    for title in ["Tin nóng số 2", "Tin nóng số 3"]:
        assert title in text and title in html
    assert "Tin &lt;i&gt;thấp&lt;/i&gt;" in html and "Tin <i>thấp</i>" in text
    assert 'href="https://diemtin.so-gddt.vn/hop-thu"' in html
    assert [s for _, s, _ in statuses(session)].count("folded") == 3


def test_recipients_rule_unit_and_filters(session: Session, notify_settings: Settings) -> None:
    # given a unit with a focal user and a focal email, a rule naming people, subscriptions
    unit = Unit(name="Trường THCS Hoà Bình", focal_email="thcs.hoabinh@edu.vn")
    other = Unit(name="Phòng GDĐT Sơn Trà")
    session.add_all([unit, other])
    session.flush()
    focal = User(username="hb", email="hieu.truong@edu.vn", role=Role.unit_focal.value,
                 unit_id=unit.id, password_hash="x")  # fmt: skip
    boss = User(username="gd", email="Giam.Doc@so-gddt.vn", password_hash="x")
    session.add_all([focal, boss])
    session.flush()
    notify = ["bao.chi@so-gddt.vn", boss.id, {"channel": "zalo", "target": "8063"}]
    rule = Rule(name="Lạm thu", query="lạm thu", notify=notify)
    session.add(rule)
    session.flush()
    subscribe(session, "giam.doc@so-gddt.vn", min_severity="medium", quiet_hours="22:00-06:00")
    subscribe(session, "chi.cao@so-gddt.vn", min_severity="critical")
    subscribe(session, "son.tra@edu.vn", unit_id=other.id)
    alert = make_alert(session, "Lạm thu", severity="high", rule_id=rule.id, unit_id=unit.id)
    got = {(r.channel, r.target): r for r in recipients_for(session, alert)}
    assert set(got) == {
        ("email", "bao.chi@so-gddt.vn"), ("email", "giam.doc@so-gddt.vn"), ("zalo", "8063"),
        ("email", "hieu.truong@edu.vn"), ("email", "thcs.hoabinh@edu.vn"),
    }  # fmt: skip
    # the leader named by the rule also subscribed: one entry, with the quiet hours
    assert got[("email", "giam.doc@so-gddt.vn")].quiet_hours == "22:00-06:00"


@pytest.mark.parametrize("severity", ["medium", "low"])
def test_below_threshold_is_held_for_bundle(
    session: Session, notify_settings: Settings, severity: str
) -> None:
    subscribe(session, "van.phong@so-gddt.vn")
    alert = make_alert(session, "Tin theo dõi", severity=severity)
    assert notify_alert(session, notify_settings, alert.id, now=NOW)["held"] == 1
    (row,) = session.scalars(select(Notification))
    assert row.status == "held" and row.next_attempt_at == next_bundle_at(NOW, 60)


def test_settled_alerts_leave_the_bundle(
    session: Session, notify_settings: Settings, smtp_server: SmtpServer
) -> None:
    # given a low alert held for the bundle, then dismissed by the press office
    subscribe(session, "van.phong@so-gddt.vn")
    alert = make_alert(session, "Tin nhỏ", severity="low")
    notify_alert(session, notify_settings, alert.id, now=NOW)
    alert.status = "dismissed"
    session.commit()
    # then the bundle has nothing to say: no message, and the row is not held forever
    assert send_bundles(session, notify_settings, now=next_bundle_at(NOW, 60)) == 0
    assert statuses(session) == [("alert", "folded", "van.phong@so-gddt.vn")]
    # and a dismissed alert notifies nobody at all
    assert notify_alert(session, notify_settings, alert.id, now=NOW) == {
        "immediate": 0, "held": 0, "duplicate": 0,
    }  # fmt: skip


def test_zalo_and_webhook_subscribers(
    session: Session, notify_settings: Settings, fake_api: Callable[..., FakeApi]
) -> None:
    # given a Zalo OA API and a webhook receiver on 127.0.0.1
    zalo = fake_api(lambda c: (200, {}, {"error": 0, "message": "Success",
                                         "data": {"message_id": "m1"}}))  # fmt: skip
    hook = fake_api(lambda c: (202, {}, {"accepted": True}))
    settings = notify_settings.copy_with(notify={"zalo_api_base": zalo.url})
    subscribe(session, "8063947237857451397", channel="zalo")
    subscribe(session, hook.url + "/diemtin", channel="webhook")
    alert = make_alert(session, EVIL, severity="critical", unit_id=None)
    # when the alert is notified and dispatched twice
    notify_alert(session, settings, alert.id, now=NOW)
    dispatch_due(session, settings, now=NOW)
    dispatch_due(session, settings, now=NOW + timedelta(minutes=1))
    # then each channel got one request in its own format
    (z,) = zalo.calls
    assert z.json()["recipient"] == {"user_id": "8063947237857451397"}
    assert z.json()["message"]["text"].startswith(f"[Khẩn] Tình huống nóng: {EVIL}")
    (h,) = hook.calls
    body = h.json()
    assert body["event"] == "alert" and body["alert"]["id"] == alert.id
    assert body["alert"]["title"] == EVIL and body["url"].endswith(f"/canh-bao/{alert.id}")
    assert (
        h.headers["Idempotency-Key"]
        == body["key"]
        == (f"alert:{alert.id}:lvl:0:webhook:{hook.url}/diemtin")
    )
    assert h.headers["X-Diemtin-Signature"].startswith("sha256=")
    sent = session.scalars(select(Notification).where(Notification.channel == "zalo")).one()
    assert sent.status == "sent" and sent.payload["delivery_id"] == "m1"
