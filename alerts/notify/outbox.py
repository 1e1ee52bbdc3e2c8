"""The notification outbox (table `notifications`): enqueue once, claim with a lease, send,
retry with backoff, and never send one row twice.

States: pending -> sending -> sent; a failed attempt goes back to pending with a later
next_attempt_at, or to failed after the last attempt or a permanent error (kept, visible,
re-queued with `diemtin notify requeue`). held = waiting for the recipient's next bundle;
folded = delivered inside a bundle. See docs/decisions.md "Outbox and exactly-once"."""

from __future__ import annotations

import base64
import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.notify.notifiers.base import (
    InlineImage,
    Message,
    Notifier,
    PermanentError,
    TransientError,
    get_notifier,
)
from core.models import Notification, utcnow
from core.settings import Settings

log = logging.getLogger(__name__)

# Rows a claim may take: due pending rows, and rows whose sender's lease ran out.
DUE = "pending"


def make_key(*parts: object) -> str:
    """A dedupe key from parts joined by ":"; long ones (webhook URLs) end in a hash so two
    targets never collide when cut to the column's 200 characters."""
    key = ":".join(str(p) for p in parts)
    if len(key) <= 200:
        return key
    return key[:160] + ":" + hashlib.sha256(key.encode()).hexdigest()[:32]


def enqueue(session: Session, *, dedupe_key: str, target: str, **fields: Any) -> bool:
    """Insert one outbox row unless its dedupe key exists; True when inserted. No commit."""
    values = {
        "dedupe_key": dedupe_key,
        "target": target,
        "status": fields.pop("status", "pending"),
        "next_attempt_at": fields.pop("next_attempt_at", None) or utcnow(),
        "created_at": fields.pop("created_at", None) or utcnow(),
        "attempts": 0,
        "kind": fields.pop("kind", "alert"),
        "channel": fields.pop("channel", "email"),
        "subject": fields.pop("subject", ""),
        "body_text": fields.pop("body_text", ""),
        "body_html": fields.pop("body_html", ""),
        "payload": fields.pop("payload", None) or {},
        **fields,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # ON CONFLICT DO NOTHING: a duplicate is not an error and does not abort the transaction.
    stmt = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    # RETURNING, not rowcount: psycopg reports a row count for a skipped conflicting insert.
    return session.execute(stmt).first() is not None


def _claimable(now: datetime) -> Any:
    return or_(
        and_(Notification.status == DUE, Notification.next_attempt_at <= now),
        # A dispatcher that died mid-send: retried only once its lease is over.
        and_(Notification.status == "sending", Notification.locked_until <= now),
    )


@dataclass(slots=True)
class Claim:
    """A row this dispatcher owns until `locked_until`; `attempt` fences a stale owner."""

    id: int
    attempt: int


def claim_due(
    session: Session, settings: Settings, *, now: datetime, limit: int = 50
) -> list[Claim]:
    """Atomically take due rows: a compare-and-set per row, so two dispatchers never share one."""
    ids = session.scalars(
        select(Notification.id)
        .where(_claimable(now))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    ).all()
    lease = now + timedelta(seconds=settings.notify.lease_s)
    claims = []
    for nid in ids:
        row = session.execute(
            update(Notification)
            .where(Notification.id == nid, _claimable(now))
            .values(status="sending", locked_until=lease, attempts=Notification.attempts + 1)
            .returning(Notification.attempts)
        ).first()
        if row is not None:
            claims.append(Claim(nid, row[0]))
    session.commit()
    return claims


def to_message(row: Notification) -> Message:
    """The channel-neutral message for an outbox row."""
    payload = dict(row.payload or {})
    images = [
        InlineImage(cid=i["cid"], data=base64.b64decode(i["data"]), subtype=i.get("subtype", "png"))
        for i in payload.pop("images", [])
    ]
    return Message(
        key=row.dedupe_key,
        target=row.target,
        subject=row.subject,
        text=row.body_text,
        html=row.body_html,
        payload=payload,
        images=images,
    )


def backoff_s(settings: Settings, attempt: int) -> float:
    """Exponential backoff with full jitter in its upper half (30 s, 60 s, 120 s, ...)."""
    base = settings.notify.backoff_s * (2 ** (attempt - 1))
    return min(base, 6 * 3600) * random.uniform(0.5, 1.0)


def _finish(session: Session, claim: Claim, **values: Any) -> bool:
    # Only the dispatcher holding this attempt may finish it: after a lease ran out and
    # another dispatcher re-claimed the row, the stale one's result is dropped.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Notification)
            .where(
                Notification.id == claim.id,
                Notification.status == "sending",
                Notification.attempts == claim.attempt,
            )
            .values(locked_until=None, **values)
        ),
    )
    session.commit()
    return bool(result.rowcount)


def send_one(
    session: Session, settings: Settings, claim: Claim, *, now: datetime,
    notifiers: dict[str, Notifier] | None = None,
) -> str:  # fmt: skip
    """Send one claimed row and record the outcome; returns its new status."""
    row = session.get(Notification, claim.id, populate_existing=True)
    session.commit()  # end the read: SQLite would otherwise hold a snapshot during the send
    if row is None or row.status != "sending" or row.attempts != claim.attempt:
        # Our lease ran out (a long stall) and another dispatcher owns the row now.
        return "stale"
    channel = row.channel
    try:
        notifier = (notifiers or {}).get(channel) or get_notifier(channel, settings)
        delivery_id = notifier.send(to_message(row))
    except PermanentError as exc:
        log.warning("notification %s failed permanently: %s", claim.id, exc)
        _finish(session, claim, status="failed", last_error=str(exc)[:1000])
        return "failed"
    except Exception as exc:
        # TransientError, or a bug in a channel: retried, bounded by notify_max_attempts.
        delay = backoff_s(settings, claim.attempt)
        if isinstance(exc, TransientError) and exc.retry_after_s:
            delay = max(delay, exc.retry_after_s)
        status = "failed" if claim.attempt >= settings.notify.max_attempts else DUE
        log.warning("notification %s attempt %s: %s -> %s", claim.id, claim.attempt, exc, status)
        _finish(
            session, claim, status=status, last_error=f"{type(exc).__name__}: {exc}"[:1000],
            next_attempt_at=now + timedelta(seconds=delay),
        )  # fmt: skip
        return status
    # Marked sent in its own short transaction right after the server accepted it: the
    # window in which a crash makes us send again is this one statement (decisions.md).
    payload = {**(row.payload or {}), "delivery_id": delivery_id}
    _finish(session, claim, status="sent", sent_at=utcnow(), last_error=None, payload=payload)
    return "sent"


def dispatch_due(
    session: Session, settings: Settings, *, now: datetime | None = None, limit: int = 50,
    notifiers: dict[str, Notifier] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Claim and send every due row once; returns counts per outcome."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    for claim in claim_due(session, settings, now=now, limit=limit):
        status = send_one(session, settings, claim, now=now, notifiers=notifiers)
        counts[status] = counts.get(status, 0) + 1
    return counts


def requeue_failed(session: Session, *, ids: list[int] | None = None) -> int:
    """Put failed rows back to pending with a fresh attempt budget; returns how many."""
    stmt = update(Notification).where(Notification.status == "failed")
    if ids:
        stmt = stmt.where(Notification.id.in_(ids))
    result = cast(
        CursorResult[Any],
        session.execute(
            stmt.values(status=DUE, attempts=0, next_attempt_at=utcnow(), locked_until=None)
        ),
    )
    session.commit()
    return int(result.rowcount)
