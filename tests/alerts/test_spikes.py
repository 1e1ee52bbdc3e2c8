"""Spikes against a baseline that knows the weekday and the school calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection import spikes
from alerts.detection.evaluate import evaluate
from alerts.detection.spikes import DEFAULT_CALENDAR, detect, find_spikes, period_of
from alerts.detection.tasks import detect_spikes
from api import labels
from core.models import Alert, AlertEvent, Rule, Unit
from tests.factories import make_document, make_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Monday 14 December 2026, 10:00 in Vietnam: outside every school-calendar period.
MONDAY = datetime(2026, 12, 14, 3, 0, tzinfo=UTC)
# Friday 26 June 2026: the THPT graduation exam period.
EXAM_DAY = datetime(2026, 6, 26, 3, 0, tzinfo=UTC)


def _times(now: datetime, per_day_back: dict[int, int]) -> list[datetime]:
    """`count` documents inside the 24-hour window that ends `days` days before now."""
    return [
        now - timedelta(days=days, hours=1 + k % 20, minutes=k)
        for days, count in per_day_back.items()
        for k in range(count)
    ]


def test_monday_is_compared_with_mondays() -> None:
    # given Mondays that are always busy (6-7 articles) and Tuesdays that are quiet (2)
    history = {7 * w: 6 + w % 2 for w in range(1, 9)}
    tuesdays = {7 * w - 1: 2 for w in range(1, 9)}
    events = {("topic", "hoc_phi_thu_chi"): _times(MONDAY, history | tuesdays | {0: 7})}
    labels = {("topic", "hoc_phi_thu_chi"): "Học phí, thu chi"}
    # then a Monday with 7 is a normal Monday
    assert find_spikes(events, labels, MONDAY, tz=TZ) == []
    # and a Tuesday with 7 is a spike against Tuesdays
    tuesday = MONDAY + timedelta(days=1)
    quiet = {7 * w: 2 for w in range(1, 9)}
    events = {("topic", "hoc_phi_thu_chi"): _times(tuesday, quiet | {0: 7})}
    (spike,) = find_spikes(events, labels, tuesday, tz=TZ)
    assert spike.count == 7 and spike.mean == 2.0 and spike.ratio == 3.5
    assert spike.period is None
    assert spike.message == (
        "Chủ đề «Học phí, thu chi»: 7 bài trong 24 giờ qua, "
        "tăng gấp 3,5 lần so với mức thường ngày thứ Ba (2,0 bài)"
    )


def test_busy_periods_are_left_out_of_the_usual_baseline() -> None:
    # 14 Dec: the 8-week look-back reaches into the "thu chi đầu năm" period (until 31 Oct)
    events = {("topic", "x"): _times(MONDAY, {7 * w: 2 for w in range(1, 7)} | {49: 40, 56: 40,
              0: 8})}  # fmt: skip
    (spike,) = find_spikes(events, {}, MONDAY, tz=TZ)
    # only the six weeks outside the period count
    assert spike.samples == 6 and spike.mean == 2.0


def test_exam_period_has_its_own_baseline() -> None:
    assert period_of(EXAM_DAY.astimezone(TZ).date(), DEFAULT_CALENDAR)["code"] == "thi_tot_nghiep"
    # given a quiet year (2 a day) except the exam period (about 15 a day), last year too
    normal = {d: 2 for d in range(7, 60)}
    this_period = {d: 15 for d in range(1, 7)}  # 20-25 June
    last_year = {d: 14 for d in range(365 - 6, 365 + 10)}  # 20 June - 5 July 2025
    history = normal | this_period | last_year
    key = ("topic", "thi_tuyen_sinh")
    # then 16 on an exam day is what exam days look like
    assert find_spikes({key: _times(EXAM_DAY, history | {0: 16})}, {}, EXAM_DAY, tz=TZ) == []
    # although, without the calendar, it would be flagged against ordinary Fridays
    assert find_spikes({key: _times(EXAM_DAY, history | {0: 16})}, {}, EXAM_DAY, tz=TZ,
                       calendar=())  # fmt: skip
    # and a real spike inside the period says so
    (spike,) = find_spikes(
        {key: _times(EXAM_DAY, history | {0: 60})}, {key: "Thi cử, tuyển sinh"}, EXAM_DAY, tz=TZ
    )
    assert spike.period == "thi_tot_nghiep"
    assert "so với mức thường ngày trong kỳ thi tốt nghiệp THPT" in spike.message


def test_few_articles_are_never_a_spike() -> None:
    events = {("unit", "3"): _times(MONDAY, {0: 4})}
    assert find_spikes(events, {}, MONDAY, tz=TZ) == []


def test_topic_names_match_the_ui() -> None:
    # Spike alerts and the pages name topics from one table (core.taxonomy).
    assert spikes.TOPIC_NAMES is labels.ALL["topic"]


def test_detect_opens_one_alert_per_dimension_key_and_day(asession: Session) -> None:
    # given quiet Mondays, then a Monday with ten articles about one school's violence case
    source = make_source(asession)
    unit = Unit(name="Trường THCS Nguyễn Huệ", type="truong", district="Hòa Vang")
    rule = Rule(name="Bạo lực", query="đánh hội đồng")
    asession.add_all([unit, rule])
    asession.commit()
    for w in range(1, 7):
        for k in range(2):
            at = MONDAY - timedelta(days=7 * w, hours=2 + k)
            make_document(asession, source, "Tin giáo dục", "Học sinh đi học.", published_at=at,
                          topics=["bao_luc_hoc_duong"])  # fmt: skip
    today = [
        make_document(asession, source, f"Nữ sinh THCS Nguyễn Huệ bị đánh hội đồng ({k})",
                      "Vụ việc ở trường THCS Nguyễn Huệ.", topics=["bao_luc_hoc_duong"],
                      published_at=MONDAY - timedelta(hours=1, minutes=k))
        for k in range(10)
    ]  # fmt: skip
    asession.commit()
    for doc in today:
        evaluate(asession, doc.id)  # links the unit and records the rule hits
    # when spikes are detected twice in the same day
    first = detect(asession, MONDAY, tz=TZ)
    asession.commit()
    second = detect(asession, MONDAY + timedelta(minutes=15), tz=TZ)
    asession.commit()
    # then one alert per dimension, none the second time
    assert second == []
    spikes = asession.scalars(select(Alert).where(Alert.kind == "spike")).all()
    assert sorted(a.details["dimension"] for a in spikes) == ["rule", "topic", "unit"]
    assert {a.id for a in spikes} == {a.id for a in first}
    by_dim = {a.details["dimension"]: a for a in spikes}
    assert by_dim["unit"].unit_id == unit.id and by_dim["rule"].rule_id == rule.id
    topic = by_dim["topic"]
    assert topic.details["day"] == "2026-12-14" and topic.details["ratio"] == 5.0
    assert topic.title.startswith(
        "Chủ đề «Bạo lực học đường»: 10 bài trong 24 giờ qua, tăng gấp 5,0"
    )
    assert "thứ Hai" in topic.title
    created = asession.scalars(select(AlertEvent).where(AlertEvent.kind == "created")).all()
    assert len([e for e in created if e.alert_id in {a.id for a in spikes}]) == 3


def test_beat_task_flags_todays_spike_and_asks_for_notification(
    asession: Session, notified: list[int]
) -> None:
    # given quiet weeks and a burst in the last hours (relative to the real clock)
    source = make_source(asession)
    now = datetime.now(UTC)
    for w in range(1, 9):
        make_document(asession, source, "Tin thường", "Nội dung.", topics=["day_them"],
                      published_at=now - timedelta(days=7 * w, hours=2))  # fmt: skip
    for k in range(12):
        at = now - timedelta(minutes=30 + k)
        make_document(asession, source, f"Dạy thêm ({k})", "Nội dung.", topics=["day_them"],
                      published_at=at)  # fmt: skip
    asession.commit()
    # when the beat runs the task twice
    assert detect_spikes() == 1
    assert detect_spikes() == 0
    # then one spike alert, one notify_alert request
    (alert,) = asession.scalars(select(Alert).where(Alert.kind == "spike")).all()
    assert alert.details["key"] == "day_them" and notified == [alert.id]
