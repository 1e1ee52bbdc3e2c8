"""One severity per hot case, the band of its current score (issue 18): a relabel that drops
the score lowers it (recorded, not announced) and the case stays open; rising again to a level
already announced notifies nobody; only a new peak escalates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection.scoring import ALERT_THRESHOLD, DocSignal, band
from alerts.detection.story_alerts import Outcome, upsert_hot
from alerts.units.matcher import UnitMatcher
from core.models import Alert, AlertEvent, Story
from tests.factories import make_document, make_source

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def _signals(risk: str, risk_score: float, sentiment: str, n: int = 3) -> list[DocSignal]:
    return [
        DocSignal(
            f"d{i}", T0 + timedelta(minutes=20 * i), source_id=i, scope="local", risk=risk,
            risk_score=risk_score, sentiment=sentiment, topics=["bao_luc_hoc_duong"], reach=300,
            names_province=True,
        )
        for i in range(n)
    ]  # fmt: skip


def _score(session: Session, story: Story, doc: object, signals: list[DocSignal]) -> Outcome:
    out = Outcome()
    upsert_hot(session, story, doc, UnitMatcher([]), out, signals=signals)  # type: ignore[arg-type]
    session.commit()
    return out


def test_a_relabelled_case_shows_the_band_of_its_current_score_and_stays_open(
    asession: Session,
) -> None:
    # given a hot case opened on a story labelled nóng and negative
    source = make_source(asession, "Báo Địa Phương Thử", scope="local")
    doc = make_document(asession, source, "Học sinh bị đánh", risk="nong")
    story = Story(title="Học sinh bị đánh", doc_count=3)
    asession.add(story)
    asession.flush()
    doc.story_id = story.id
    hot = _signals("nong", 0.95, "tieu_cuc")
    opened = _score(asession, story, doc, hot)
    (alert,) = asession.scalars(select(Alert).where(Alert.story_id == story.id)).all()
    first = alert.severity
    assert opened.notify == [alert.id] and first in ("medium", "high")
    # when a relabel finds the articles ordinary and neutral
    calm = _signals("binh_thuong", 0.05, "trung_tinh")
    lowered = _score(asession, story, doc, calm)
    asession.refresh(alert)
    # then its one severity is the band of the new score, below the threshold: "low"
    assert alert.score < ALERT_THRESHOLD and alert.severity == band(alert.score) == "low"
    assert alert.details["severity"] == alert.severity
    # it stays open, and nobody is notified of the drop; the history records it
    assert alert.status == "new" and lowered.notify == []
    events = asession.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
    assert [(e.kind, e.data.get("from"), e.data.get("to")) for e in events][-1] == (
        "rescored", first, "low",
    )  # fmt: skip
    # when the labels come back: the old severity again, not a new escalation
    again = _score(asession, story, doc, hot)
    asession.refresh(alert)
    assert alert.severity == first and again.notify == [] and alert.escalation_level == 0
    # only a severity above the peak escalates and notifies
    wider = [*hot, *(_signals("nong", 0.99, "tieu_cuc", 12)[3:])]
    for i, s in enumerate(wider):
        s.scope, s.source_id = ("national", 100 + i) if i >= 3 else (s.scope, s.source_id)
    grown = _score(asession, story, doc, wider)
    asession.refresh(alert)
    assert alert.severity == band(alert.score) != first
    assert grown.notify == [alert.id] and alert.escalation_level == 1
    assert alert.details["peak_severity"] == alert.severity
