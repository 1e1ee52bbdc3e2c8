"""The case lifecycle: new -> acknowledged -> assigned -> responded -> closed, or dismissed.

Every change is an AlertEvent (who, when, what) and an audit-log row, written in the
caller's transaction and committed here. A dismissal also records a LabelCorrection
(relevance = 0) on the story's first document: feedback for the classifier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor, audit
from core.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    Document,
    LabelCorrection,
    Role,
    User,
    utcnow,
)
from core.settings import get_settings
from core.taxonomy import STATUS_NAMES

S = AlertStatus
DEFAULT_DEADLINES_H: dict[str, float] = {"critical": 2, "high": 8, "medium": 24, "low": 72}
# Which states each action may start from; anything else is an invalid transition.
ALLOWED_FROM: dict[str, set[AlertStatus]] = {
    "acknowledge": {S.new},
    "assign": {S.new, S.acknowledged, S.assigned},
    "respond": {S.acknowledged, S.assigned},
    "close": {S.responded},
    "dismiss": {S.new, S.acknowledged, S.assigned},
}
# Cases still waiting for a response: the deadline applies to these.
OPEN_STATUSES = {S.new.value, S.acknowledged.value, S.assigned.value}
RESPONSE_KINDS = {"reply", "correction", "press_statement", "other"}
ACTION_LABELS = {
    "acknowledge": "tiếp nhận",
    "assign": "phân công",
    "respond": "ghi nhận phản hồi",
    "close": "đóng",
    "dismiss": "bỏ qua",
}
# The case page's names of events that are not status changes.
EVENT_LABELS = {
    "created": "Tạo cảnh báo",
    "escalated": "Nâng mức độ",
    "rescored": "Mức độ đổi theo điểm mới",
    "document_added": "Thêm bài viết vào vụ việc",
    "note": "Ghi chú",
    "attachment": "Đính kèm liên kết",
    "reopened": "Mở lại do vụ việc nóng lên",
}
# A graver story reopens a case that was answered or closed; a dismissed one stays dismissed
# (the press office judged it not relevant, and its dismissal is the classifier's feedback).
REOPENED_BY_ESCALATION = {S.responded.value, S.closed.value}
MAX_TEXT = 20_000


class LifecycleError(ValueError):
    """An action the case cannot take now, or bad input; the message is Vietnamese."""


class CaseNotFound(LookupError):
    """No case with that id."""


def due_for(
    severity: str, created_at: datetime, deadlines_h: Mapping[str, float] | None = None
) -> datetime:
    """The response deadline of a case of this severity opened at `created_at`."""
    table = {**DEFAULT_DEADLINES_H, **(deadlines_h or {})}
    return created_at + timedelta(hours=float(table.get(severity, table["medium"])))


def set_deadline(alert: Alert, deadlines_h: Mapping[str, float] | None = None) -> None:
    """Set Alert.due_at from its severity (call on creation and when severity changes)."""
    alert.due_at = due_for(alert.severity, alert.created_at or utcnow(), deadlines_h)


def reopen_for_escalation(session: Session, alert: Alert, severity: str) -> bool:
    """Put an answered or closed case back in the inbox (-> new) because its story became
    `severity`; its deadline runs from now. True when it was reopened."""
    if alert.status not in REOPENED_BY_ESCALATION:
        return False
    now = utcnow()
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            kind="reopened",
            from_status=alert.status,
            to_status=S.new.value,
            data={"severity": severity},
        )
    )
    alert.status = S.new.value
    alert.closed_at = None
    alert.due_at = due_for(severity, now, get_settings().alerts.response_deadlines_h)
    return True


def is_overdue(alert: Alert, now: datetime | None = None) -> bool:
    """True when a case still waiting for a response is past its deadline."""
    return (
        alert.status in OPEN_STATUSES
        and alert.due_at is not None
        and alert.due_at < (now or utcnow())
    )


def _text(value: str | None, what: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise LifecycleError(f"Vui lòng nhập {what}.")
    if len(value) > MAX_TEXT:
        raise LifecycleError(f"{what.capitalize()} quá dài (tối đa {MAX_TEXT:,} ký tự).")
    return value


def _load(session: Session, alert_id: int) -> Alert:
    # FOR UPDATE: a row lock on PostgreSQL, SQLite's write lock taken now (core.db_lock),
    # so two officers acting on one case at once are serialised either way.
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise CaseNotFound(f"Không tìm thấy cảnh báo #{alert_id}.")
    return alert


def _move(session: Session, alert: Alert, action: str, actor: Actor, **event: Any) -> AlertEvent:
    current = AlertStatus(alert.status)
    if current not in ALLOWED_FROM[action]:
        raise LifecycleError(
            f"Không thể {ACTION_LABELS[action]} cảnh báo đang ở trạng thái "
            f"“{STATUS_NAMES[current.value]}”."
        )
    target = event.pop("to", None)
    now = utcnow()
    row = AlertEvent(
        alert_id=alert.id,
        at=now,
        actor_id=actor.user_id,
        kind=action,
        from_status=current.value,
        to_status=target.value if target else current.value,
        **event,
    )
    session.add(row)
    if target:
        alert.status = target.value
    alert.updated_at = now
    audit(session, actor, f"alert.{action}", "alert", alert.id, {"to": alert.status})
    return row


def acknowledge(*, session: Session, alert_id: int, actor: Actor) -> Alert:
    """Take the case in (new -> acknowledged)."""
    alert = _load(session, alert_id)
    _move(session, alert, "acknowledge", actor, to=S.acknowledged)
    alert.acknowledged_at = alert.acknowledged_at or utcnow()
    session.commit()
    return alert


def assign(*, session: Session, alert_id: int, actor: Actor, assignee_id: int) -> Alert:
    """Give the case to a user (from new, acknowledged, or reassign)."""
    alert = _load(session, alert_id)
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.active:
        raise LifecycleError("Người được phân công không tồn tại hoặc đã bị khóa.")
    if assignee.role == Role.leadership.value:
        raise LifecycleError("Không thể phân công cho tài khoản lãnh đạo (chỉ xem).")
    _move(
        session,
        alert,
        "assign",
        actor,
        to=S.assigned,
        data={"assignee_id": assignee.id, "assignee": assignee.full_name or assignee.username},
    )
    alert.assignee_id = assignee.id
    alert.acknowledged_at = alert.acknowledged_at or utcnow()
    session.commit()
    return alert


def respond(
    *,
    session: Session,
    alert_id: int,
    actor: Actor,
    response: str,
    kind: str = "reply",
    url: str | None = None,
) -> Alert:
    """Record the reply, correction or press statement (-> responded)."""
    if kind not in RESPONSE_KINDS:
        raise LifecycleError("Loại phản hồi không hợp lệ (reply, correction, press_statement).")
    text = _text(response, "nội dung phản hồi")
    link = check_link(url) if url else None
    alert = _load(session, alert_id)
    _move(
        session,
        alert,
        "respond",
        actor,
        to=S.responded,
        note=text,
        data={"kind": kind, "url": link},
    )
    alert.response = text
    alert.responded_at = utcnow()
    session.commit()
    return alert


def close(*, session: Session, alert_id: int, actor: Actor, note: str | None = None) -> Alert:
    """Close a case whose response is recorded (responded -> closed)."""
    alert = _load(session, alert_id)
    _move(session, alert, "close", actor, to=S.closed, note=_text(note, "ghi chú", required=False))
    alert.closed_at = utcnow()
    session.commit()
    return alert


def dismiss(*, session: Session, alert_id: int, actor: Actor, reason: str) -> Alert:
    """Dismiss a case as not relevant; the story's first document becomes a relevance=0 label."""
    text = _text(reason, "lý do bỏ qua")
    alert = _load(session, alert_id)
    _move(session, alert, "dismiss", actor, to=S.dismissed, note=text)
    alert.dismiss_reason = text
    alert.closed_at = utcnow()
    doc = first_document(session, alert)
    if doc is not None:
        _record_correction(session, alert, doc, actor)
    session.commit()
    return alert


def add_note(*, session: Session, alert_id: int, actor: Actor, text: str) -> AlertEvent:
    """Add a note to the case's history (any state)."""
    body = _text(text, "nội dung ghi chú")
    alert = _load(session, alert_id)
    row = AlertEvent(alert_id=alert.id, actor_id=actor.user_id, kind="note", note=body)
    session.add(row)
    audit(session, actor, "alert.note", "alert", alert.id)
    session.commit()
    return row


def add_attachment(
    *, session: Session, alert_id: int, actor: Actor, url: str, title: str = ""
) -> AlertEvent:
    """Attach a link (a reply published, an official document) to the case."""
    link = check_link(url)
    label = _text(title, "tiêu đề", required=False)[:300]
    alert = _load(session, alert_id)
    row = AlertEvent(
        alert_id=alert.id,
        actor_id=actor.user_id,
        kind="attachment",
        note=label or None,
        data={"url": link},
    )
    session.add(row)
    audit(session, actor, "alert.attachment", "alert", alert.id, {"url": link})
    session.commit()
    return row


def check_link(url: str | None) -> str:
    """The URL when it is an absolute http(s) link with a host; LifecycleError otherwise."""
    value = (url or "").strip()
    parts = urlsplit(value)
    if len(value) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise LifecycleError("Liên kết phải là địa chỉ http:// hoặc https:// đầy đủ.")
    return value


def story_documents(session: Session, alert: Alert) -> list[Document]:
    """The case's documents in time order: its story's, else those listed in details."""
    if alert.story_id is not None:
        stmt = select(Document).where(Document.story_id == alert.story_id)
    else:
        ids: Iterable[str] = alert.details.get("documents", []) if alert.details else []
        stmt = select(Document).where(Document.id.in_(list(ids)))
    docs = list(session.scalars(stmt))
    return sorted(docs, key=lambda d: (d.published_at or d.fetched_at, d.id))


def first_document(session: Session, alert: Alert) -> Document | None:
    """The earliest document of the case, if any."""
    docs = story_documents(session, alert)
    return docs[0] if docs else None


def model_text(doc: Document) -> str:
    """The classifier's input for a document (as crawlers.pipeline.classification_text)."""
    return "\n".join(part for part in (doc.title, doc.lead, doc.body) if part)


def _record_correction(session: Session, alert: Alert, doc: Document, actor: Actor) -> None:
    cls = doc.classification
    row = session.scalar(
        select(LabelCorrection).where(
            LabelCorrection.document_id == doc.id, LabelCorrection.head == "relevance"
        )
    )
    if row is None:
        row = LabelCorrection(document_id=doc.id, head="relevance")
        session.add(row)
    row.alert_id = alert.id
    row.value = 0
    row.text = model_text(doc)
    row.model_version = cls.model_version if cls else None
    row.predicted = cls.relevance if cls else None
    row.user_id = actor.user_id
    row.created_at = utcnow()
