"""Dự báo: topics rising now against comparable earlier windows (education items only), and
the school calendar's coming weeks with last year's archive as evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy.orm import Session

from alerts.reporting.calendar import coming, load_calendar
from alerts.reporting.forecast import build_forecast
from tests.factories import make_document, make_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 8, 10, 3, 0, tzinfo=UTC)  # 10:00 local, outside the spike periods


def seed(session: Session, *, archive: bool) -> None:
    outlets = [make_source(session, f"Báo Thử {i}") for i in range(6)]
    # Usual weeks: 2 items a week on tuition, 3 on teachers, from one outlet.
    for week in range(1, 9):
        at = NOW - timedelta(days=7 * week, hours=12)
        for i in range(2):
            make_document(session, outlets[0], f"Học phí tuần {week} {i}", published_at=at,
                          topics=["hoc_phi_thu_chi"])  # fmt: skip
        for i in range(3):
            make_document(session, outlets[1], f"Nhà giáo tuần {week} {i}", published_at=at,
                          topics=["nha_giao"])  # fmt: skip
    # This week: tuition jumps to 10 items on 5 outlets; teachers as usual.
    for i in range(10):
        make_document(session, outlets[i % 5], f"Học phí mới {i}", published_at=NOW - timedelta(
            hours=6 + i), topics=["hoc_phi_thu_chi"])  # fmt: skip
    for i in range(3):
        make_document(session, outlets[1], f"Nhà giáo {i}", published_at=NOW - timedelta(
            hours=30 + i), topics=["nha_giao"])  # fmt: skip
    # Unrelated news about violence, many of them: must not count.
    for i in range(12):
        make_document(session, outlets[5], f"Giá vàng {i}", published_at=NOW - timedelta(hours=i),
                      topics=["bao_luc_hoc_duong"], relevance=0.1)  # fmt: skip
    if archive:  # last August's tuition announcements
        for i in range(7):
            make_document(session, outlets[2], f"Học phí 2025 {i}", published_at=datetime(
                2025, 8, 5 + i, 3, tzinfo=UTC), topics=["hoc_phi_thu_chi"])  # fmt: skip
        make_document(session, outlets[2], "Học phí 2025 tháng 7", published_at=datetime(
            2025, 7, 1, 3, tzinfo=UTC), topics=["hoc_phi_thu_chi"])  # fmt: skip
    session.commit()


def test_rising_topic_named_with_its_evidence(session: Session) -> None:
    # given a usual history and a tuition jump this week, plus unrelated noise
    seed(session, archive=False)
    # when the forecast is built on education items
    fc = build_forecast(session, NOW, TZ, min_relevance=0.5)
    # then tuition is the one rising topic, with its volume, spread and baseline
    assert [r.topic for r in fc.rising] == ["hoc_phi_thu_chi"]
    r = fc.rising[0]
    assert (r.count, r.sources, r.usual) == (10, 5, 2.0)
    assert r.evidence.startswith("10 tin, bài từ 5 nguồn trong 7 ngày qua; thường 2 tin từ 1 nguồn")
    # and counting everything lets the noise in
    everything = build_forecast(session, NOW, TZ, min_relevance=None)
    assert "bao_luc_hoc_duong" in {r.topic for r in everything.rising}


def test_coming_weeks_with_last_years_archive(session: Session) -> None:
    # given last August's tuition coverage in the archive
    seed(session, archive=True)
    # when the forecast is built on 10/08/2026
    fc = build_forecast(session, NOW, TZ, min_relevance=0.5)
    by_code = {e.code: e for e in fc.coming}
    # then the tuition announcements under way and school opening ahead are listed
    assert {"hoc_phi_nam_hoc_moi", "khai_giang", "xet_tuyen_dai_hoc"} <= set(by_code)
    tuition = by_code["hoc_phi_nam_hoc_moi"]
    assert tuition.last_year == 7 and tuition.last_year_before == 1
    assert "Cùng kỳ năm trước (01/08/2025–10/09/2025) có 7 tin, bài" in tuition.evidence
    assert "gấp 7 lần" in tuition.evidence
    assert tuition.evidence.startswith("Đang diễn ra, đến 10/09.")
    assert by_code["khai_giang"].evidence.startswith("Bắt đầu từ 25/08 (còn 15 ngày).")


def test_no_archive_says_so(session: Session) -> None:
    seed(session, archive=False)
    fc = build_forecast(session, NOW, TZ, min_relevance=0.5)
    assert all("Kho lưu trữ chưa có tin cùng kỳ năm trước" in e.evidence for e in fc.coming
               if e.last_year == 0)  # fmt: skip
    assert any(e.last_year == 0 for e in fc.coming)


def test_calendar_file_is_checked(tmp_path) -> None:
    # the shipped calendar covers the school year's news seasons
    codes = {e.code for e in load_calendar()}
    assert {"thi_vao_10", "thi_tot_nghiep", "tuyen_sinh_dau_cap", "hoc_phi_nam_hoc_moi",
            "khai_giang"} <= codes  # fmt: skip
    # an event across New Year is found in December and in January
    assert "thi_hoc_ky_1" in {d.event.code for d in coming(date(2027, 1, 5))}
    assert "thi_hoc_ky_1" in {d.event.code for d in coming(date(2026, 12, 1))}
    # a typo in a topic code is refused
    bad = tmp_path / "cal.yaml"
    bad.write_text(yaml.safe_dump({"events": [{"code": "x", "name": "X", "start": "01-01",
        "end": "01-02", "topics": ["hoc_phi"], "brings": "x"}]}), encoding="utf-8")  # fmt: skip
    with pytest.raises(ValueError, match="hoc_phi"):
        load_calendar(bad)
