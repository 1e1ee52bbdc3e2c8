"""From an alert to outbox rows: who is told, over which channel, now or in the next bundle.

Recipients: the rule's `notify` entries, alert subscriptions (min severity, unit filter,
quiet hours) and the unit's focal points. One row per (alert, escalation level, channel,
target): a re-run or a redelivered task adds nothing. Severity at or above
DIEMTIN_NOTIFY_IMMEDIATE_SEVERITY goes out at once, unless the recipient already had
DIEMTIN_NOTIFY_MAX_PER_HOUR immediate messages in the last hour (critical ones always go);
those and lower severities are held for the recipient's next bundle (docs/decisions.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from alerts.notify.messages import alert_view, render_alert, render_bundle
from alerts.notify.outbox import enqueue, make_key
from core.models import Alert, Notification, Role, Rule, Subscription, Unit, User, utcnow
from core.settings import Settings
from core.taxonomy import severity_rank

log = logging.getLogger(__name__)

# Rows that count against the per-hour limit: messages sent (or about to be) one by one.
IMMEDIATE_STATES = ("pending", "sending", "sent", "failed")


@dataclass(slots=True)
class Recipient:
    """One address on one channel, and the subscription it came from, if any."""

    channel: str
    target: str
    user_id: int | None = None
    subscription_id: int | None = None
    quiet_hours: str = ""


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """ "22:00-06:00" -> (22:00, 06:00); empty -> None; ValueError when malformed."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"quiet hours must look like 22:00-06:00, got {value!r}") from None
    return start, end


def quiet_until(quiet_hours: str, now: datetime, tz: str) -> datetime | None:
    """The end (UTC) of the quiet period `now` falls in, or None outside quiet hours."""
    try:
        window = parse_quiet_hours(quiet_hours)
    except ValueError as exc:
        log.warning("%s; ignoring them", exc)
        return None
    if window is None or window[0] == window[1]:
        return None
    start, end = window
    local_now = now.astimezone(ZoneInfo(tz))
    t = local_now.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_local = datetime.combine(local_now.date(), end, tzinfo=local_now.tzinfo)
    if end_local <= local_now:
        end_local += timedelta(days=1)
    return end_local.astimezone(UTC)


def next_bundle_at(now: datetime, interval_min: int) -> datetime:
    """The next bundle boundary (every `interval_min` minutes; hourly = on the hour)."""
    step = interval_min * 60
    ts = (int(now.timestamp()) // step + 1) * step
    return datetime.fromtimestamp(ts, UTC)


def _rule_recipients(session: Session, rule: Rule) -> list[Recipient]:
    out = []
    for entry in rule.notify or []:
        if isinstance(entry, dict) and entry.get("target"):
            out.append(Recipient(str(entry.get("channel", "email")), str(entry["target"])))
        elif isinstance(entry, str) and "@" in entry:
            out.append(Recipient("email", entry.strip()))
        elif isinstance(entry, int | str) and str(entry).strip().isdigit():
            user = session.get(User, int(entry))
            if user and user.active and user.email:
                out.append(Recipient("email", user.email, user_id=user.id))
        else:
            log.warning("rule %s has an unusable notify entry %r", rule.id, entry)
    return out


def recipients_for(session: Session, alert: Alert) -> list[Recipient]:
    """Everyone to tell about this alert, one entry per (channel, target)."""
    found: list[Recipient] = []
    if alert.rule_id and (rule := session.get(Rule, alert.rule_id)):
        found += _rule_recipients(session, rule)
    subs = session.scalars(
        select(Subscription).where(Subscription.kind == "alert", Subscription.enabled.is_(True))
    )
    for sub in subs:
        if severity_rank(alert.severity) < severity_rank(sub.min_severity):
            continue
        if sub.unit_id is not None and sub.unit_id != alert.unit_id:
            continue
        found.append(Recipient(sub.channel, sub.target, sub.user_id, sub.id, sub.quiet_hours or ""))
    if alert.unit_id:
        focal = session.scalars(
            select(User).where(
                User.unit_id == alert.unit_id,
                User.role == Role.unit_focal.value,
                User.active.is_(True),
                User.email.is_not(None),
            )
        )
        found += [Recipient("email", u.email or "", user_id=u.id) for u in focal]
        unit = session.get(Unit, alert.unit_id)
        if unit and unit.active and unit.focal_email:
            found.append(Recipient("email", unit.focal_email))
    merged: dict[tuple[str, str], Recipient] = {}
    for r in found:
        key = (r.channel, r.target.strip().lower() if r.channel == "email" else r.target.strip())
        if not key[1]:
            continue
        # A subscription's settings (quiet hours) win over a bare rule or focal-point entry.
        if key not in merged or (r.subscription_id and not merged[key].subscription_id):
            merged[key] = Recipient(r.channel, key[1], r.user_id, r.subscription_id, r.quiet_hours)
    return list(merged.values())


def sent_last_hour(session: Session, channel: str, target: str, now: datetime) -> int:
    """Immediate alert messages to this recipient created in the hour before `now`."""
    return int(
        session.scalar(
            select(func.count()).where(
                Notification.kind == "alert",
                Notification.channel == channel,
                Notification.target == target,
                Notification.status.in_(IMMEDIATE_STATES),
                Notification.created_at > now - timedelta(hours=1),
            )
        )
        or 0
    )


def notify_alert(
    session: Session, settings: Settings, alert_id: int, *, now: datetime | None = None
) -> dict[str, int]:
    """Queue this alert's notifications (idempotent); returns counts: immediate/held/duplicate."""
    now = now or utcnow()
    counts = {"immediate": 0, "held": 0, "duplicate": 0}
    alert = session.get(Alert, alert_id)
    if alert is None or alert.status in ("closed", "dismissed"):
        return counts
    view = alert_view(session, settings, alert)
    subject, text, html = render_alert(view)
    immediate = severity_rank(alert.severity) >= severity_rank(settings.notify.immediate_severity)
    critical = alert.severity == "critical"
    for r in recipients_for(session, alert):
        key = make_key("alert", alert.id, "lvl", alert.escalation_level, r.channel, r.target)
        quiet_end = None if critical else quiet_until(r.quiet_hours, now, settings.timezone)
        # Critical alerts are never held back: like quiet hours, the limit is for the rest.
        limited = (
            immediate
            and not critical
            and sent_last_hour(session, r.channel, r.target, now) >= settings.notify.max_per_hour
        )
        if immediate and not limited:
            status, due = "pending", quiet_end or now
        else:
            status = "held"
            due = next_bundle_at(now, settings.notify.bundle_interval_min)
            # A bundle that would land in the quiet hours waits for their end.
            due = quiet_until(r.quiet_hours, due, settings.timezone) or due
        payload: dict[str, Any] = {"alert": view.summary(), "url": view.url, "event": "alert"}
        if limited:
            payload["rate_limited"] = True
        inserted = enqueue(
            session, dedupe_key=key, target=r.target, kind="alert", channel=r.channel,
            subject=subject, body_text=text, body_html=html, payload=payload, status=status,
            next_attempt_at=due, created_at=now, alert_id=alert.id, user_id=r.user_id,
            subscription_id=r.subscription_id,
        )  # fmt: skip
        outcome = ("immediate" if status == "pending" else "held") if inserted else "duplicate"
        counts[outcome] += 1
    session.commit()
    return counts


def send_bundles(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    """Fold each recipient's due held alerts into one bundle message; returns bundles queued."""
    now = now or utcnow()
    held = session.scalars(
        select(Notification)
        .where(Notification.status == "held", Notification.next_attempt_at <= now)
        .order_by(Notification.channel, Notification.target, Notification.id)
    ).all()
    groups: dict[tuple[str, str], list[tuple[int, int | None, dict[str, Any]]]] = {}
    for row in held:
        groups.setdefault((row.channel, row.target), []).append(
            (row.id, row.user_id, dict(row.payload or {}))
        )
    alert_ids = {p["alert"]["id"] for g in groups.values() for _, _, p in g if p.get("alert")}
    # Cases closed or dismissed while they waited are not worth a message any more.
    settled = set(
        session.scalars(
            select(Alert.id).where(
                Alert.id.in_(alert_ids), Alert.status.in_(("closed", "dismissed"))
            )
        )
    )
    session.commit()
    queued = 0
    for (channel, target), rows in groups.items():
        ids = [rid for rid, _, _ in rows]
        items = [
            p["alert"] for _, _, p in rows if p.get("alert") and p["alert"]["id"] not in settled
        ]
        if items:
            subject, text, html = render_bundle(items, settings)
            # Keyed on the first folded row: folding happens in the same transaction, so
            # no row can be in two bundles and a rerun finds nothing left to fold.
            key = make_key("bundle", channel, target, ids[0])
            enqueue(
                session, dedupe_key=key, target=target, kind="bundle", channel=channel,
                subject=subject, body_text=text, body_html=html, created_at=now,
                next_attempt_at=now, payload={"event": "bundle", "alerts": items},
                user_id=rows[0][1],
            )  # fmt: skip
        result = session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.status == "held")
            .values(status="folded", last_error=None, locked_until=None)
        )
        folded = cast(CursorResult[Any], result).rowcount
        if folded != len(ids):
            # Another worker folded some of them first: keep its bundle, drop ours.
            session.rollback()
            continue
        session.commit()
        queued += bool(items)
    return queued
