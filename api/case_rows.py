"""What an inbox row shows beyond its case: the story's outlets and their scope, its dominant
sentiment, its spread (outlets, rising), the unit it names, and the story's other cases as
reasons on the same row (one story is one row)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from alerts.cases.explain import BELOW_THRESHOLD, is_below_threshold, number
from core.models import Alert, Classification, Document, DocumentUnit, Rule, Source, Unit
from core.taxonomy import KIND_NAMES, SEVERITY_NAMES, severity_rank

# "Đang lên": more of the story in the last day than in the day before.
RISING_WINDOW = timedelta(hours=24)
SCOPE_ORDER = ("national", "local", "social")
MAX_OUTLETS = 3
# When a story's sentiments tie, the office wants to see the negative one.
SENTIMENT_PRIORITY = {"tieu_cuc": 0, "trung_tinh": 1, "tich_cuc": 2}


@dataclass(slots=True)
class RowFacts:
    """The story-level columns of one inbox row."""

    outlets: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    sentiment: str | None = None
    source_count: int = 0
    rising: bool = False
    unit_name: str | None = None
    reasons: list[str] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)


def case_reason(alert: Alert, rule_names: dict[int, str]) -> str:
    """One case as a reason on its story's row."""
    if alert.kind == "rule":
        return f"Khớp quy tắc «{rule_names.get(alert.rule_id or 0, 'đã xóa')}»"
    if alert.kind == "hot":
        below = f" ({BELOW_THRESHOLD})" if is_below_threshold("hot", alert.score) else ""
        return f"Vấn đề nóng: điểm {number(alert.score, 1)}{below}"
    details = alert.details or {}
    if alert.kind == "misinfo":
        similarity = float(details.get("similarity") or alert.score)
        return f"Giống thông tin đã bác bỏ {number(100 * similarity, 0)}%"
    if alert.kind == "spike":
        count, ratio = int(details.get("count") or 0), float(details.get("ratio") or alert.score)
        return f"{count} tin trong 24 giờ, gấp {number(ratio, 1)} lần cùng kỳ"
    return KIND_NAMES.get(alert.kind, alert.kind)


def _key(alert: Alert) -> tuple[str, int]:
    return ("story", alert.story_id) if alert.story_id else ("case", alert.id)


def row_facts(
    session: Session,
    alerts: Sequence[Alert],
    *,
    now: datetime | None = None,
    siblings_visible: Any = None,
    unit_scope: int | None = None,
) -> dict[int, RowFacts]:
    """RowFacts per alert id, read for all the rows together (a handful of queries).

    `siblings_visible` restricts which of a story's other cases are listed (the caller's
    visibility filter, a function over a select on Alert); with `unit_scope` (a unit focal
    point) only that unit's documents count, as on the case page."""
    now = now or datetime.now(UTC)
    story_ids = {a.story_id for a in alerts if a.story_id}
    loose = {
        str(d): a.id
        for a in alerts
        if not a.story_id
        for d in (a.details or {}).get("documents", [])
        if isinstance(d, str)
    }
    # Two conditions run apart: an OR of the two IN lists made SQLite scan every document.
    wheres = [Document.story_id.in_(story_ids)] if story_ids else []
    wheres += [Document.id.in_(list(loose))] if loose else []
    if unit_scope is not None:
        mine = select(DocumentUnit.document_id).where(DocumentUnit.unit_id == unit_scope)
        wheres = [and_(w, Document.id.in_(mine)) for w in wheres]

    def rows(stmt: Any, key: Any = lambda r: r[0]) -> list[Any]:
        found = {key(r): r for where in wheres for r in session.execute(stmt.where(where))}
        return list(found.values())

    when = func.coalesce(Document.published_at, Document.fetched_at)
    docs = rows(select(Document.id, Document.story_id, Document.source_id, when))
    key_of: dict[str, tuple[str, int]] = {}
    for doc_id, story_id, _src, _at in docs:
        key_of[doc_id] = ("story", story_id) if story_id in story_ids else ("case", loose[doc_id])
    sources = {
        s.id: s for s in session.scalars(select(Source).where(Source.id.in_({d[2] for d in docs})))
    }
    per_source: dict[tuple[str, int], Counter[int]] = defaultdict(Counter)
    recent: Counter[tuple[str, int]] = Counter()
    before: Counter[tuple[str, int]] = Counter()
    for doc_id, _story, source_id, at in docs:
        k = key_of[doc_id]
        per_source[k][source_id] += 1
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if now - RISING_WINDOW <= at <= now:
            recent[k] += 1
        elif now - 2 * RISING_WINDOW <= at < now - RISING_WINDOW:
            before[k] += 1
    newest: dict[str, tuple[int, str]] = {}
    for _first, doc_id, cls_id, sentiment in rows(
        select(Classification.id, Classification.document_id, Classification.id,
               Classification.sentiment)
        .join(Document, Document.id == Classification.document_id)
    ):  # fmt: skip
        if doc_id not in newest or newest[doc_id][0] < cls_id:
            newest[doc_id] = (cls_id, sentiment)
    sentiments: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for doc_id, (_id, sentiment) in newest.items():
        sentiments[key_of[doc_id]][sentiment] += 1
    named: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for doc_id, unit_name in rows(
        select(DocumentUnit.document_id, Unit.name)
        .join(Unit, Unit.id == DocumentUnit.unit_id)
        .join(Document, Document.id == DocumentUnit.document_id),
        key=tuple,
    ):  # fmt: skip
        named[key_of[doc_id]][unit_name] += 1
    unit_ids = {a.unit_id for a in alerts if a.unit_id}
    own_units = {u.id: u.name for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    stmt = select(Alert).where(Alert.story_id.in_(story_ids))
    if siblings_visible is not None:
        stmt = siblings_visible(stmt)
    family: dict[int, list[Alert]] = defaultdict(list)
    for sib in session.scalars(stmt.order_by(Alert.id)):
        family[sib.story_id or 0].append(sib)
    everyone = [*alerts, *(s for group in family.values() for s in group)]
    rule_ids = {a.rule_id for a in everyone if a.rule_id}
    rule_names = {r.id: r.name for r in session.scalars(select(Rule).where(Rule.id.in_(rule_ids)))}
    out: dict[int, RowFacts] = {}
    for a in alerts:
        k = _key(a)
        counts = per_source.get(k, Counter())
        ordered = sorted(counts, key=lambda s: (-counts[s], sources[s].name))
        scopes = {sources[s].scope or "national" for s in counts}
        feelings = sentiments.get(k, Counter())
        others = [s for s in family.get(a.story_id or 0, []) if s.id != a.id and a.story_id]
        others.sort(key=lambda s: (-severity_rank(s.severity), s.id))
        out[a.id] = RowFacts(
            outlets=[sources[s].name for s in ordered[:MAX_OUTLETS]],
            scopes=[s for s in SCOPE_ORDER if s in scopes],
            sentiment=min(feelings, key=lambda s: (-feelings[s], SENTIMENT_PRIORITY.get(s, 3)))
            if feelings
            else None,
            source_count=len(counts),
            rising=recent[k] >= 2 and recent[k] > before[k],
            unit_name=own_units.get(a.unit_id or 0)
            or (named[k].most_common(1)[0][0] if named.get(k) else None),
            reasons=[case_reason(s, rule_names) for s in (a, *others)],
            related=[
                {
                    "id": s.id,
                    "kind": s.kind,
                    "kind_label": KIND_NAMES.get(s.kind, s.kind),
                    "severity": s.severity,
                    "severity_label": SEVERITY_NAMES.get(s.severity, s.severity),
                    "status": s.status,
                    "reason": case_reason(s, rule_names),
                }
                for s in others
            ],
        )
    return out
