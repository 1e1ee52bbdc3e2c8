"""The daily digest: content (escaped), once per subscriber per local day across reruns and
restarts, a missed day caught up late, and `diemtin digest --preview`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alerts.notify.digest import build_digest, render_digest, send_due_digests
from alerts.notify.outbox import dispatch_due
from api.cli import app
from core import db
from core.models import Fact, Notification, Story, Unit
from core.settings import Settings
from tests.alerts.conftest import SmtpServer, make_alert, parts, subscribe
from tests.conftest import reset_caches
from tests.factories import make_document, make_source

DAY = date(2026, 11, 23)
SEND_TIME = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 07:00 in Hà Nội
IN_WINDOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
HOT = "Phụ huynh tố lạm thu <script>alert(1)</script>"
GOOD = 'Cô giáo <img src=x onerror="alert(1)"> vượt lũ đưa học sinh đến trường'


def seed(session: Session) -> None:
    """A day of coverage: one story on three outlets, a positive item, noise, two cases."""
    unit = Unit(name="Trường THCS Hoà Bình", type="truong")
    session.add(unit)
    story = Story(title=HOT, doc_count=3, outlet_count=3)
    session.add(story)
    session.flush()
    for i, name in enumerate(["Báo Giáo dục", "Báo Dân trí", "Báo <b>Lạ</b>"]):
        doc = make_document(
            session, make_source(session, name=name), f"{HOT} ({i})", "Nội dung",
            published_at=IN_WINDOW + timedelta(hours=i), topics=["hoc_phi_thu_chi"],
            sentiment="tieu_cuc", risk="nong",
        )  # fmt: skip
        doc.story_id = story.id
        doc.classifications[0].relevance = 0.95
        doc.units.append(unit)
    source = make_source(session, name="Báo Tin tốt")
    good = make_document(session, source, GOOD, published_at=IN_WINDOW, topics=["guong_dien_hinh"],
                         sentiment="tich_cuc")  # fmt: skip
    good.classifications[0].relevance = 0.9
    good.likes = 900
    noise = make_document(session, source, "Giá vàng hôm nay", published_at=IN_WINDOW)
    noise.classifications[0].relevance = 0.05
    old = make_document(
        session, source, "Tin cũ tuần trước", published_at=IN_WINDOW - timedelta(days=3)
    )
    old.classifications[0].relevance = 0.9
    fact = Fact(statement="Sở thu thêm học phí", correction="Sở chưa ban hành mức thu mới.")
    session.add(fact)
    session.commit()
    make_alert(session, HOT, story_id=story.id, severity="critical", created_at=IN_WINDOW,
               updated_at=IN_WINDOW)  # fmt: skip
    make_alert(session, "Tin đồn bỏ thi tốt nghiệp", kind="misinfo", status="responded",
               fact_id=fact.id, created_at=IN_WINDOW, updated_at=IN_WINDOW,
               response="Đã đăng <b>thông cáo</b> đính chính.")  # fmt: skip


def digest_rows(session: Session) -> list[Notification]:
    session.expire_all()
    q = select(Notification).where(Notification.kind == "digest").order_by(Notification.id)
    return list(session.scalars(q))


def test_digest_content_is_complete_and_escaped(session: Session, settings: Settings) -> None:
    seed(session)
    digest = build_digest(session, settings, DAY)
    assert digest.total == 4  # three on the story and the positive item; noise and old excluded
    assert [a.title for a in digest.hot] == [HOT]
    assert [(a.title, a.status_name) for a in digest.misinfo] == [
        ("Tin đồn bỏ thi tốt nghiệp", "Đã phản hồi")
    ]
    assert [(s.docs, s.outlets) for s in digest.stories] == [(3, 3)]
    assert [(b.label, b.count) for b in digest.topics] == [
        ("Học phí, thu chi", 3), ("Gương điển hình", 1),
    ]  # fmt: skip
    assert [(b.label, b.count) for b in digest.sentiments] == [("Tiêu cực", 3), ("Tích cực", 1)]
    assert [(b.label, b.count) for b in digest.units] == [("Trường THCS Hoà Bình", 3)]
    assert [d.title for d in digest.positive] == [GOOD]
    subject, text, html = render_digest(digest, settings)
    assert subject == "Điểm tin báo chí ngày 23/11/2026"
    assert "<script>" not in html and "<img src=x" not in html and "<b>Lạ" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    assert "Gương điển hình, tin tích cực" in html and "Thông tin sai lệch" in html
    assert HOT in text and GOOD in text and "Học phí, thu chi" in text
    assert "Phản hồi: Đã đăng &lt;b&gt;thông cáo&lt;/b&gt; đính chính." in html
    assert "Phản hồi: Đã đăng <b>thông cáo</b> đính chính." in text


def test_digest_once_per_day_across_reruns_and_restart(
    session: Session, notify_settings: Settings, smtp_server: SmtpServer
) -> None:
    seed(session)
    # given a subscriber who joined yesterday afternoon
    sub = subscribe(session, "giam.doc@so-gddt.vn", kind="digest", send_at="07:00",
                    created_at=SEND_TIME - timedelta(hours=12))  # fmt: skip
    # before 07:00 nothing is due
    assert send_due_digests(session, notify_settings, now=SEND_TIME - timedelta(minutes=1)) == []
    # at 07:01 it is queued, and a second run of the task queues nothing more
    at = SEND_TIME + timedelta(minutes=1)
    assert send_due_digests(session, notify_settings, now=at) == [f"digest:{sub.id}:2026-11-23"]
    assert send_due_digests(session, notify_settings, now=at) == []
    # a restarted scheduler and worker (fresh engine and session) still find it sent
    session.close()
    reset_caches()
    fresh = db.new_session()
    try:
        assert send_due_digests(fresh, notify_settings, now=at + timedelta(minutes=1)) == []
        dispatch_due(fresh, notify_settings, now=at)
        dispatch_due(fresh, notify_settings, now=at + timedelta(minutes=2))
        assert len(digest_rows(fresh)) == 1
    finally:
        fresh.close()
    (msg,) = smtp_server.messages
    assert msg["Subject"] == "Điểm tin báo chí ngày 23/11/2026" and msg["To"] == sub.target
    text, html = parts(msg)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "https://diemtin.so-gddt.vn/canh-bao/" in html and HOT in text


def test_missed_day_is_caught_up_late(session: Session, settings: Settings) -> None:
    # given a subscriber whose digests were never sent (the server was off for days)
    sub = subscribe(session, "truong.phong@so-gddt.vn", kind="digest", send_at="07:00",
                    created_at=SEND_TIME - timedelta(days=5))  # fmt: skip
    new = subscribe(session, "moi@so-gddt.vn", kind="digest", send_at="07:00",
                    created_at=SEND_TIME + timedelta(hours=1))  # fmt: skip
    # when the scheduler starts at 09:00
    keys = send_due_digests(session, settings, now=SEND_TIME + timedelta(hours=2))
    # then yesterday's is sent late and today's on time; older days are not flooded in,
    # and a subscriber who joined after 07:00 gets a first digest tomorrow
    assert keys == [f"digest:{sub.id}:2026-11-22", f"digest:{sub.id}:2026-11-23"]
    late, today = digest_rows(session)
    assert late.subject == "Điểm tin báo chí ngày 22/11/2026 (gửi muộn)" and late.payload["late"]
    assert today.subject == "Điểm tin báo chí ngày 23/11/2026"
    assert send_due_digests(session, settings, now=SEND_TIME + timedelta(hours=22)) == []
    tomorrow = send_due_digests(session, settings, now=SEND_TIME + timedelta(hours=24))
    assert tomorrow == [f"digest:{sub.id}:2026-11-24", f"digest:{new.id}:2026-11-24"]


def test_cli_preview(session: Session, settings: Settings, tmp_path: Path) -> None:
    seed(session)
    session.close()
    out = tmp_path / "diem-tin.html"
    runner = CliRunner()
    result = runner.invoke(app, ["digest", "--preview", "--date", "2026-11-23", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Điểm tin báo chí ngày 23/11/2026" in html and "&lt;script&gt;" in html
    bad = runner.invoke(app, ["digest", "--preview", "--date", "23/11/2026"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


@pytest.mark.parametrize("send_at", ["7h", "25:00"])
def test_bad_send_time_falls_back_to_seven(
    session: Session, settings: Settings, send_at: str
) -> None:
    sub = subscribe(session, "a@b.vn", kind="digest", send_at=send_at,
                    created_at=SEND_TIME - timedelta(hours=1))  # fmt: skip
    assert send_due_digests(session, settings, now=SEND_TIME - timedelta(minutes=1)) == []
    assert send_due_digests(session, settings, now=SEND_TIME) == [f"digest:{sub.id}:2026-11-23"]
