"""The daily press digest (điểm tin báo chí): what it says, and sending it once per
subscriber per local day, late rather than never (docs/decisions.md "Digest schedule")."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from alerts.notify.messages import AlertView, DocLine, alert_view, document_lines, one_line, render
from alerts.notify.outbox import enqueue
from alerts.reporting.relevance import is_relevant
from core.models import (
    Alert,
    Document,
    DocumentUnit,
    Notification,
    Story,
    Subscription,
    Unit,
    utcnow,
)
from core.settings import Settings
from core.taxonomy import SENTIMENT_NAMES, TOPIC_NAMES, severity_rank

log = logging.getLogger(__name__)

DEFAULT_SEND_AT = time(7, 0)


@dataclass(slots=True)
class Bar:
    """One row of a table bar chart."""

    label: str
    count: int
    pct: int  # of the largest row, for the bar width
    share: int  # of the total, for the reader


@dataclass(slots=True)
class StoryLine:
    """A story by volume in the digest window."""

    title: str
    docs: int
    outlets: int
    url: str


@dataclass(slots=True)
class Digest:
    """Everything the digest shows for one local day."""

    day: date
    start: datetime
    end: datetime
    late: bool = False
    total: int = 0
    hot: list[AlertView] = field(default_factory=list)
    stories: list[StoryLine] = field(default_factory=list)
    misinfo: list[AlertView] = field(default_factory=list)
    topics: list[Bar] = field(default_factory=list)
    sentiments: list[Bar] = field(default_factory=list)
    units: list[Bar] = field(default_factory=list)
    positive: list[DocLine] = field(default_factory=list)

    @property
    def subject(self) -> str:
        """ "Điểm tin báo chí ngày 23/11/2026" (+ "gửi muộn" when caught up)."""
        late = " (gửi muộn)" if self.late else ""
        return f"Điểm tin báo chí ngày {self.day:%d/%m/%Y}{late}"


def bars(counts: Counter[str], names: dict[str, str], limit: int = 16) -> list[Bar]:
    """Bars for the largest counts, widths relative to the largest."""
    top = counts.most_common(limit)
    if not top:
        return []
    biggest, total = top[0][1], sum(counts.values())
    return [
        Bar(names.get(k, k), n, max(2, round(100 * n / biggest)), round(100 * n / total))
        for k, n in top
    ]


def window(day: date, send_at: time, tz: str) -> tuple[datetime, datetime]:
    """The 24 hours (UTC) before the digest's local send time on `day`."""
    end = datetime.combine(day, send_at, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return end - timedelta(days=1), end


def _alerts(
    session: Session, settings: Settings, start: datetime, end: datetime, *, misinfo: bool
) -> list[AlertView]:
    """Cases opened or updated in the window, most severe first (ten at most)."""
    query = select(Alert).where(
        or_(Alert.created_at.between(start, end), Alert.updated_at.between(start, end))
    )
    if misinfo:
        # Every status is news here: the reader wants to see what was refuted and how.
        query = query.where(Alert.kind == "misinfo")
    else:
        query = query.where(Alert.kind != "misinfo", Alert.status != "dismissed")
    rows = sorted(
        session.scalars(query),
        key=lambda a: (-severity_rank(a.severity), -a.score, a.id),
    )
    return [alert_view(session, settings, a) for a in rows[:10]]


def build_digest(
    session: Session, settings: Settings, day: date, send_at: time = DEFAULT_SEND_AT
) -> Digest:
    """Gather the digest for local `day` (the 24 hours before its send time)."""
    start, end = window(day, send_at, settings.timezone)
    digest = Digest(day=day, start=start, end=end)
    when = func.coalesce(Document.published_at, Document.fetched_at)
    docs = session.scalars(
        select(Document)
        .where(when >= start, when < end, is_relevant(settings.alerts.relevance_threshold))
        .options(selectinload(Document.classifications))
    ).all()
    relevant = [d for d in docs if d.classification]
    digest.total = len(relevant)
    topics: Counter[str] = Counter()
    sentiments: Counter[str] = Counter()
    for d in relevant:
        cls = d.classification
        assert cls is not None
        topics.update(cls.topics or ["khac"])
        sentiments[cls.sentiment] += 1
    digest.topics = bars(topics, TOPIC_NAMES)
    digest.sentiments = bars(sentiments, SENTIMENT_NAMES)
    ids = [d.id for d in relevant]
    if ids:
        unit_counts = session.execute(
            select(Unit.name, func.count())
            .join(DocumentUnit, DocumentUnit.unit_id == Unit.id)
            .where(DocumentUnit.document_id.in_(ids))
            .group_by(Unit.id, Unit.name)
            .order_by(func.count().desc(), Unit.name)
            .limit(10)
        ).all()
        digest.units = bars(Counter({one_line(n): c for n, c in unit_counts}), {}, 10)
        per_story = Counter(d.story_id for d in relevant if d.story_id)
        outlets: dict[int, set[int]] = {}
        first: dict[int, str] = {}
        for d in relevant:
            if d.story_id:
                outlets.setdefault(d.story_id, set()).add(d.source_id)
                first.setdefault(d.story_id, d.id)
        base = settings.web.public_url.rstrip("/")
        for story_id, n in per_story.most_common(5):
            story = session.get(Story, story_id)
            title = one_line(story.title if story else "") or "(không có tiêu đề)"
            url = f"{base}/tai-lieu/{first[story_id]}"
            digest.stories.append(StoryLine(title, n, len(outlets[story_id]), url))
        positive = sorted(
            (d for d in relevant if d.classification and d.classification.sentiment == "tich_cuc"),
            key=lambda d: -((d.likes or 0) + (d.shares or 0) + (d.comments or 0)),
        )
        digest.positive = document_lines(session, settings, [d.id for d in positive[:5]])
    digest.hot = _alerts(session, settings, start, end, misinfo=False)
    digest.misinfo = _alerts(session, settings, start, end, misinfo=True)
    return digest


def render_digest(digest: Digest, settings: Settings) -> tuple[str, str, str]:
    """(subject, text, html) of the digest email."""
    text, html = render(
        "digest",
        d=digest,
        subject=digest.subject,
        inbox=settings.web.public_url.rstrip("/"),
        tz=ZoneInfo(settings.timezone),
    )
    return digest.subject, text, html


def parse_send_at(value: str) -> time:
    """ "07:00" -> time(7, 0); ValueError when malformed."""
    try:
        return time.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"send_at must look like 07:00, got {value!r}") from None


def send_due_digests(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> list[str]:
    """Queue every digest whose local send time has passed and that has no outbox row yet.

    Days back to DIEMTIN_DIGEST_CATCHUP_DAYS are caught up (marked "gửi muộn"); the unique
    dedupe key digest:<subscription>:<local date> makes each one happen once, whatever
    restarts or reruns. Returns the keys queued."""
    now = now or utcnow()
    tz = ZoneInfo(settings.timezone)
    local_now = now.astimezone(tz)
    built: dict[tuple[date, time], Digest] = {}
    queued = []
    subs = session.scalars(
        select(Subscription)
        .where(Subscription.kind == "digest", Subscription.enabled.is_(True))
        .order_by(Subscription.id)
    ).all()
    for sub in subs:
        try:
            send_at = parse_send_at(sub.send_at or "07:00")
        except ValueError as exc:
            # A typo must not cost the reader the digest: send at the default hour.
            log.warning("digest subscription %s: %s; sending at 07:00", sub.id, exc)
            send_at = DEFAULT_SEND_AT
        for back in range(settings.notify.digest_catchup_days, -1, -1):
            day = local_now.date() - timedelta(days=back)
            due = datetime.combine(day, send_at, tzinfo=tz)
            # Not yet time, or the subscription did not exist when that digest was due.
            if due > local_now or sub.created_at > due:
                continue
            key = f"digest:{sub.id}:{day.isoformat()}"
            if session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
                continue
            if (day, send_at) not in built:
                built[(day, send_at)] = build_digest(session, settings, day, send_at)
            digest = built[(day, send_at)]
            digest.late = back > 0
            subject, text, html = render_digest(digest, settings)
            if enqueue(
                session, dedupe_key=key, target=sub.target, kind="digest", channel=sub.channel,
                subject=subject, body_text=text, body_html=html, created_at=now,
                next_attempt_at=now,
                payload={"event": "digest", "date": day.isoformat(), "late": back > 0},
                subscription_id=sub.id, user_id=sub.user_id,
            ):  # fmt: skip
                queued.append(key)
            session.commit()
    return queued


def preview(session: Session, settings: Settings, day: date | None = None) -> str:
    """The digest HTML for local `day` (default today), as subscribers would get it."""
    day = day or utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    return render_digest(build_digest(session, settings, day), settings)[2]
