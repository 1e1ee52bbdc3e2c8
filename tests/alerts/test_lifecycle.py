"""The case lifecycle on a real database: transitions, events, deadlines, feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.cases import lifecycle
from core.models import AlertEvent, AuditLog, LabelCorrection
from tests.factories import make_alert, make_document, make_source, make_user


@dataclass(frozen=True)
class Actor:
    user_id: int | None


@pytest.fixture
def officer(session: Session) -> Actor:
    return Actor(make_user(session, "press_officer").id)


def test_full_path_records_every_step(session: Session, officer: Actor) -> None:
    # given a new case and a colleague to give it to
    alert = make_alert(session)
    colleague = make_user(session, "press_officer", full_name="Trần Văn Bình")
    session.commit()
    # when it is acknowledged, assigned, answered and closed
    lifecycle.acknowledge(session=session, alert_id=alert.id, actor=officer)
    lifecycle.assign(session=session, alert_id=alert.id, actor=officer, assignee_id=colleague.id)
    lifecycle.add_note(session=session, alert_id=alert.id, actor=officer, text="Đã gọi trường.")
    lifecycle.add_attachment(
        session=session, alert_id=alert.id, actor=officer, url="https://sogd.example.vn/tb"
    )
    lifecycle.respond(
        session=session,
        alert_id=alert.id,
        actor=officer,
        response="Sở đã chỉ đạo hoàn trả các khoản thu sai quy định.",
        kind="press_statement",
    )
    lifecycle.close(session=session, alert_id=alert.id, actor=officer)
    # then every step is an event with actor and time, and the case carries the timestamps
    events = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
    assert [(e.kind, e.from_status, e.to_status) for e in events] == [
        ("acknowledge", "new", "acknowledged"),
        ("assign", "acknowledged", "assigned"),
        ("note", None, None),
        ("attachment", None, None),
        ("respond", "assigned", "responded"),
        ("close", "responded", "closed"),
    ]
    assert all(e.actor_id == officer.user_id and e.at is not None for e in events)
    assert events[1].data["assignee"] == "Trần Văn Bình"
    assert alert.status == "closed" and alert.assignee_id == colleague.id
    assert alert.acknowledged_at and alert.responded_at and alert.closed_at
    assert alert.response.startswith("Sở đã chỉ đạo")
    audited = session.scalars(select(AuditLog.action).where(AuditLog.entity_id == str(alert.id)))
    assert list(audited) == [
        "alert.acknowledge",
        "alert.assign",
        "alert.note",
        "alert.attachment",
        "alert.respond",
        "alert.close",
    ]


@pytest.mark.parametrize(
    ("steps", "action", "message"),
    [
        ([], "close", "Không thể đóng cảnh báo đang ở trạng thái “Mới”."),
        ([], "respond", "Không thể ghi nhận phản hồi cảnh báo đang ở trạng thái “Mới”."),
        (["acknowledge"], "acknowledge", "Không thể tiếp nhận cảnh báo đang ở trạng thái"),
        (["dismiss"], "acknowledge", "trạng thái “Đã bỏ qua”"),
        (["acknowledge", "respond", "close"], "dismiss", "trạng thái “Đã đóng”"),
    ],
)
def test_invalid_transitions_raise_a_clear_error(
    session: Session, officer: Actor, steps: list[str], action: str, message: str
) -> None:
    alert = make_alert(session)
    session.commit()
    calls = {
        "acknowledge": lambda: lifecycle.acknowledge(
            session=session, alert_id=alert.id, actor=officer
        ),
        "respond": lambda: lifecycle.respond(
            session=session, alert_id=alert.id, actor=officer, response="Đã trả lời."
        ),
        "close": lambda: lifecycle.close(session=session, alert_id=alert.id, actor=officer),
        "dismiss": lambda: lifecycle.dismiss(
            session=session, alert_id=alert.id, actor=officer, reason="Không liên quan"
        ),
    }
    for step in steps:
        calls[step]()
    before = alert.status
    with pytest.raises(lifecycle.LifecycleError, match=message):
        calls[action]()
    session.rollback()
    assert session.get(type(alert), alert.id).status == before  # type: ignore[union-attr]


def test_bad_input_is_refused_and_changes_nothing(session: Session, officer: Actor) -> None:
    alert = make_alert(session)
    leader = make_user(session, "leadership")
    session.commit()
    with pytest.raises(lifecycle.LifecycleError, match="lý do bỏ qua"):
        lifecycle.dismiss(session=session, alert_id=alert.id, actor=officer, reason="   ")
    for bad in ("javascript:alert(1)", "ftp://x.vn/a", "https://", "không phải link"):
        with pytest.raises(lifecycle.LifecycleError, match="http:// hoặc https://"):
            lifecycle.add_attachment(session=session, alert_id=alert.id, actor=officer, url=bad)
    with pytest.raises(lifecycle.LifecycleError, match="lãnh đạo"):
        lifecycle.assign(session=session, alert_id=alert.id, actor=officer, assignee_id=leader.id)
    with pytest.raises(lifecycle.CaseNotFound):
        lifecycle.acknowledge(session=session, alert_id=99999, actor=officer)
    session.rollback()
    assert session.scalars(select(AlertEvent)).all() == []


def test_dismissal_feeds_the_classifier(session: Session, officer: Actor) -> None:
    # given a case whose story has two documents
    source = make_source(session)
    first = make_document(
        session,
        source,
        "Giải bóng đá phong trào",
        "Trận chung kết diễn ra sôi nổi.",
        published_at=datetime(2026, 11, 20, 1, tzinfo=UTC),
    )
    later = make_document(
        session, source, "Bài đăng lại", published_at=datetime(2026, 11, 21, 1, tzinfo=UTC)
    )
    alert = make_alert(session, documents=[later, first])
    session.commit()
    # when it is dismissed
    lifecycle.dismiss(
        session=session, alert_id=alert.id, actor=officer, reason="Không liên quan giáo dục"
    )
    # then the first document becomes a relevance=0 label with the model's input text
    label = session.scalars(select(LabelCorrection)).one()
    assert (label.document_id, label.head, label.value) == (first.id, "relevance", 0)
    assert label.text == "Giải bóng đá phong trào\nTrận chung kết diễn ra sôi nổi."
    assert label.alert_id == alert.id and label.user_id == officer.user_id
    assert alert.dismiss_reason == "Không liên quan giáo dục" and alert.status == "dismissed"


def test_deadlines_by_severity_and_overdue(session: Session) -> None:
    opened = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert lifecycle.due_for("critical", opened) == opened + timedelta(hours=2)
    assert lifecycle.due_for("high", opened) == opened + timedelta(hours=8)
    assert lifecycle.due_for("medium", opened) == opened + timedelta(hours=24)
    assert lifecycle.due_for("low", opened) == opened + timedelta(hours=72)
    assert lifecycle.due_for("critical", opened, {"critical": 1}) == opened + timedelta(hours=1)
    alert = make_alert(session, severity="critical", created_at=opened)
    assert alert.due_at == opened + timedelta(hours=2)
    assert lifecycle.is_overdue(alert, now=opened + timedelta(hours=3))
    assert not lifecycle.is_overdue(alert, now=opened + timedelta(hours=1))
    alert.status = "responded"  # answered cases are never overdue
    assert not lifecycle.is_overdue(alert, now=opened + timedelta(hours=3))
