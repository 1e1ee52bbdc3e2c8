"""The replay: a story spreads forum -> local press -> national press through the real ingest
path (stored documents, baseline classifier, stories, eager Celery tasks), and stays one
alert that escalates, with one notify_alert request per escalation level."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.cases import lifecycle
from alerts.detection.tasks import evaluate_document, evaluate_documents
from core.celery_app import EVALUATE_DOCUMENTS, app
from core.models import Alert, AlertEvent, Document, Source, Unit, utcnow
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import ingest
from tests.alerts.test_lifecycle import Actor
from tests.factories import make_user

FIXTURE = Path(__file__).parents[1] / "fixtures" / "alerts" / "replay_story.json"
T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def _item(step: dict[str, Any]) -> FetchedItem:
    return FetchedItem(
        url=step["url"],
        title=step["title"],
        lead=step.get("lead", ""),
        body=step["body"],
        published_at=T0 + timedelta(hours=step["hour"]),
        kind=step.get("kind", "article"),
        likes=step.get("likes"),
        shares=step.get("shares"),
        comments=step.get("comments"),
    )


def _hot(session: Session) -> list[Alert]:
    session.expire_all()
    return list(session.scalars(select(Alert).where(Alert.kind == "hot")))


def _setup(
    asession: Session, fixture: dict[str, Any]
) -> tuple[Unit, list[dict[str, Any]], dict[str, Source]]:
    """The Department's units and the sources of the timeline; the steps in time order."""
    school = Unit(name="Trường THCS Nguyễn Huệ", type="truong", district="Hòa Vang")
    asession.add_all([school, Unit(name="Phòng GD&ĐT Hòa Vang", type="phong", district="Hòa Vang")])
    sources: dict[str, Source] = {}
    timeline = sorted([*fixture["story"], fixture["unrelated"]], key=lambda s: s["hour"])
    for step in timeline:
        if step["source"] not in sources:
            kind = "forum" if step["scope"] == "social" else "rss"
            sources[step["source"]] = Source(
                name=step["source"], url="http://127.0.0.1:9/", scope=step["scope"], kind=kind
            )
            asession.add(sources[step["source"]])
    asession.commit()
    return school, timeline, sources


def test_story_spreading_is_one_alert_escalating(asession: Session, notified: list[int]) -> None:
    # given the Department's units and the sources of the timeline
    fixture = json.loads(FIXTURE.read_text("utf-8"))
    school, timeline, sources = _setup(asession, fixture)

    # when each item arrives in time order through the ingest pipeline
    seen: list[tuple[float, str | None, int]] = []
    for step in timeline:
        stats = ingest(asession, sources[step["source"]], [_item(step)])
        assert stats.new == 1
        alerts = _hot(asession)
        assert len(alerts) <= 1
        seen.append(
            (step["hour"], alerts[0].severity if alerts else None,
             alerts[0].escalation_level if alerts else -1)
        )  # fmt: skip

    # then the forum post alone stays below the threshold; the local paper naming the school
    # opens the case; national coverage escalates it twice; the unrelated item changes nothing
    assert seen == [
        (0.0, None, -1),
        (2.0, "medium", 0),
        (3.0, "medium", 0),
        (4.0, "medium", 0),
        (5.0, "high", 1),
        (5.5, "critical", 2),
        (6.0, "critical", 2),
    ]
    (alert,) = _hot(asession)
    assert alert.unit_id == school.id
    assert alert.details["path"] == ["social", "local", "national"]
    assert alert.details["documents"] == 6 and alert.details["names_province"] is True
    assert "Nêu tên đơn vị trực thuộc" in alert.details["reasons"]
    # one notify_alert per level: created (0), escalated to 1, escalated to 2
    assert notified == [alert.id, alert.id, alert.id]
    events = asession.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
    ).all()
    assert [(e.kind, e.data.get("to")) for e in events] == [
        ("created", None),
        ("escalated", "high"),
        ("escalated", "critical"),
    ]
    unrelated = asession.scalar(select(Document).where(Document.url == fixture["unrelated"]["url"]))
    assert unrelated is not None and unrelated.story_id != alert.story_id

    # when every document is evaluated again (redelivered tasks) and re-crawled unchanged
    before = (alert.score, alert.severity, alert.updated_at, dict(alert.details))
    doc_ids = list(asession.scalars(select(Document.id)))
    asession.commit()  # the task's own session needs the write lock
    for doc_id in doc_ids:
        evaluate_document(doc_id)
    for step in timeline:
        assert ingest(asession, sources[step["source"]], [_item(step)]).unchanged == 1
    # then nothing changed and nobody was notified again
    (alert,) = _hot(asession)
    assert (alert.score, alert.severity, alert.updated_at, alert.details) == before
    assert notified == [alert.id, alert.id, alert.id]
    assert (
        len(asession.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()) == 3
    )


def test_a_batch_scores_each_story_once(asession: Session, notified: list[int]) -> None:
    # given the whole timeline stored at once, without per-document evaluation
    fixture = json.loads(FIXTURE.read_text("utf-8"))
    asession.add(Unit(name="Trường THCS Nguyễn Huệ", type="truong", district="Hòa Vang"))
    ids = []
    for step in [*fixture["story"], fixture["unrelated"]]:
        source = Source(name=step["source"] + step["url"], url="http://127.0.0.1:9/",
                        scope=step["scope"])  # fmt: skip
        asession.add(source)
        asession.flush()
        with _alerts_worker_down():
            ingest(asession, source, [_item(step)])
        ids.append(asession.scalar(select(Document.id).where(Document.url == step["url"])))
    asession.commit()
    # when they are evaluated as one batch (the evaluate_documents task), twice
    evaluate_documents(ids)
    evaluate_documents(ids)
    # then the story opens straight at its current severity: one alert, one notification
    (alert,) = _hot(asession)
    assert alert.severity == "critical" and alert.escalation_level == 0
    assert notified == [alert.id]


@contextmanager
def _alerts_worker_down() -> Iterator[None]:
    """No alerts worker: the pipeline's evaluate_documents request waits on the broker
    instead of running in-process (the eager app runs only the tasks it has registered)."""
    task = app.tasks.pop(EVALUATE_DOCUMENTS)
    try:
        yield
    finally:
        app.tasks[EVALUATE_DOCUMENTS] = task


def _until(asession: Session, timeline: list[dict[str, Any]], sources: dict[str, Source],
           hours: tuple[float, float]) -> None:  # fmt: skip
    for step in timeline:
        if hours[0] <= step["hour"] < hours[1]:
            ingest(asession, sources[step["source"]], [_item(step)])


def _opened_case(asession: Session) -> tuple[Alert, Actor, Callable[[], None]]:
    """The timeline up to the local paper (the case opens at "medium"), a press officer, and
    a function that plays the rest of the timeline (national press: high, then critical)."""
    fixture = json.loads(FIXTURE.read_text("utf-8"))
    _school, timeline, sources = _setup(asession, fixture)
    _until(asession, timeline, sources, (0, 5))
    (alert,) = _hot(asession)
    officer = Actor(make_user(asession, "press_officer").id)
    return alert, officer, lambda: _until(asession, timeline, sources, (5, 99))


def test_a_closed_case_is_reopened_when_its_story_escalates(
    asession: Session, notified: list[int]
) -> None:
    # given the case opened by the local paper, answered and closed by the press office
    alert, officer, spread = _opened_case(asession)
    lifecycle.acknowledge(session=asession, alert_id=alert.id, actor=officer)
    lifecycle.respond(session=asession, alert_id=alert.id, actor=officer, response="Đã trả lời")
    lifecycle.close(session=asession, alert_id=alert.id, actor=officer)
    assert notified == [alert.id]
    # when national papers pick the story up
    spread()
    # then the same case is back in the inbox as new, graver, due from now, and notified
    (alert,) = _hot(asession)
    assert (alert.status, alert.severity, alert.closed_at) == ("new", "critical", None)
    assert alert.due_at is not None and alert.due_at > utcnow()
    assert alert.responded_at is not None  # the first answer stays on record
    assert notified == [alert.id, alert.id, alert.id]
    reopened = asession.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id, AlertEvent.kind == "reopened")
    ).all()
    assert [(e.from_status, e.to_status, e.data["severity"]) for e in reopened] == [
        ("closed", "new", "high")
    ]


def test_a_dismissed_case_stays_dismissed_and_silent(
    asession: Session, notified: list[int]
) -> None:
    # given the case dismissed as not relevant right after it opened
    alert, officer, spread = _opened_case(asession)
    lifecycle.dismiss(session=asession, alert_id=alert.id, actor=officer, reason="Không liên quan")
    # when the story keeps spreading
    spread()
    # then the office's decision stands: no escalation, no notification, still one alert
    (alert,) = _hot(asession)
    assert (alert.status, alert.severity, alert.escalation_level) == ("dismissed", "medium", 0)
    assert notified == [alert.id]
