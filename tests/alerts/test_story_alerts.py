"""Story alerts: one per story and kind, also when two workers open it at the same moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection.scoring import DocSignal
from alerts.detection.story_alerts import Outcome, upsert_hot
from alerts.units.matcher import UnitMatcher
from core.models import Alert, AlertEvent, Story
from tests.alerts.conftest import make_alert
from tests.factories import make_document, make_source

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def test_a_hot_alert_another_worker_opened_first_is_grown_not_doubled(asession: Session) -> None:
    # given a story whose "hot" alert another worker inserted after this one read "none"
    first = make_alert(asession, "Bạo lực học đường", severity="medium", score=45.0)
    doc = make_document(asession, make_source(asession), "Bạo lực học đường", risk="nong")
    doc.story_id = first.story_id
    asession.commit()
    signals = [
        DocSignal(
            f"d{i}", T0 + timedelta(hours=i), source_id=i, scope="national", risk="nong",
            risk_score=0.9, sentiment="tieu_cuc", topics=["bao_luc_hoc_duong"], reach=500,
        )
        for i in range(6)
    ]  # fmt: skip
    out = Outcome()
    # when this worker scores the story high enough to open one (known=False: it read none)
    story = asession.get(Story, first.story_id)
    result = upsert_hot(asession, story, doc, UnitMatcher([]), out, signals=signals, known=False)
    asession.commit()
    # then it grows the alert that is there instead of opening a second one
    assert result.score >= 55
    (alert,) = asession.scalars(select(Alert).where(Alert.story_id == first.story_id)).all()
    assert alert.id == first.id and alert.severity == result.severity and alert.score > 45
    kinds = [
        e.kind for e in asession.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id))
    ]
    assert "created" not in kinds and "escalated" in kinds
    assert out.notify == [alert.id] and out.touched == [alert]
