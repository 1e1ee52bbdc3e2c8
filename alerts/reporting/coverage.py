"""Coverage by place and by unit type on the 2025 map, for the report and the dashboard.

A document counts for a commune or ward when it is about it (document_places, core.geo.locate)
or names a unit placed there (units.commune). Documents about other provinces only are
"ngoài tỉnh", shown apart so they never inflate the province's own figures; documents with no
place at all are counted as such rather than guessed."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.reporting.stats import DocRow
from alerts.units.types import UNIT_TYPE_LIST, UNIT_TYPE_NAMES
from core.geo.data import admin_map
from core.models import Document, DocumentPlace, Source, Unit
from core.taxonomy import SCOPE_NAMES

OUTSIDE = "Ngoài tỉnh"


@dataclass(frozen=True, slots=True)
class PlaceCount:
    code: str
    name: str
    count: int


@dataclass(slots=True)
class Coverage:
    """Documents of a period by commune/ward of the province, outside it, and by unit type."""

    province: str | None  # the Department's 2025 province code (None: not chosen yet)
    total: int = 0
    in_province: int = 0  # about the province (a commune of it, or the province as a whole)
    outside: int = 0  # about other provinces only: "ngoài tỉnh"
    unplaced: int = 0  # no province, commune or placed unit found
    by_commune: list[PlaceCount] = field(default_factory=list)
    outside_by_province: list[PlaceCount] = field(default_factory=list)
    by_unit_type: list[PlaceCount] = field(default_factory=list)  # code = unit type
    # By the outlet's scope (code: national / local / social), local press of the province
    # and of other provinces apart (code "local_other").
    by_scope: list[PlaceCount] = field(default_factory=list)


def _places(session: Session, start: datetime, end: datetime) -> dict[str, set[str]]:
    stmt = (
        select(DocumentPlace.document_id, DocumentPlace.code)
        .join(Document, Document.id == DocumentPlace.document_id)
        .where(Document.published_at >= start, Document.published_at < end)
    )
    out: dict[str, set[str]] = defaultdict(set)
    for doc_id, code in session.execute(stmt).tuples():
        out[doc_id].add(code)
    return out


def _province_of(code: str) -> str | None:
    amap = admin_map()
    if code in amap.provinces:
        return code
    commune = amap.communes.get(code)
    return commune.province if commune else None


def _by_scope(session: Session, docs: list[DocRow], province: str | None) -> list[PlaceCount]:
    ids = {d.source_id for d in docs}
    kinds = {
        sid: "local_other" if scope == "local" and province and prov not in (None, province)
        else scope
        for sid, scope, prov in session.execute(
            select(Source.id, Source.scope, Source.province).where(Source.id.in_(list(ids)))
        ).tuples()
    }  # fmt: skip
    counts = Counter(kinds.get(d.source_id, "national") for d in docs)
    names = {**SCOPE_NAMES, "local_other": "Báo địa phương tỉnh khác"}
    if province:
        names["local"] = "Báo địa phương của tỉnh"
    order = ["local", "local_other", "national", "social"]
    return [PlaceCount(k, names.get(k, k), counts[k]) for k in order if counts[k]]


def _ranked(counter: Counter[str], names: dict[str, str]) -> list[PlaceCount]:
    return sorted(
        (PlaceCount(code, names.get(code, code), n) for code, n in counter.items()),
        key=lambda p: (-p.count, p.name),
    )


def coverage(
    session: Session,
    docs: Iterable[DocRow],
    start: datetime,
    end: datetime,
    *,
    province: str | None,
) -> Coverage:
    """Coverage of `docs` (published in [start, end)) for the province `province`."""
    docs = list(docs)
    amap = admin_map()
    places = _places(session, start, end)
    unit_ids = {u for d in docs for u in d.units}
    units = {
        uid: (utype, commune, uprov)
        for uid, utype, commune, uprov in session.execute(
            select(Unit.id, Unit.type, Unit.commune, Unit.province).where(
                Unit.id.in_(list(unit_ids))
            )
        ).tuples()
    }
    out = Coverage(province=province, total=len(docs))
    communes: Counter[str] = Counter()
    others: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for d in docs:
        codes = set(places.get(d.id, ()))
        named = [units[u] for u in d.units if u in units]
        codes.update(c for _, c, _ in named if c)
        codes.update(p for _, _, p in named if p)
        types.update({utype for utype, _, _ in named})
        provinces = {p for p in map(_province_of, codes) if p}
        if not provinces:
            out.unplaced += 1
        elif province is None:
            others.update(provinces)  # no province chosen: every province is listed
        elif province in provinces:
            out.in_province += 1
            communes.update(c for c in codes if _province_of(c) == province and c != province)
        else:
            out.outside += 1
            others.update(provinces)
    out.by_scope = _by_scope(session, docs, province)
    out.by_commune = _ranked(communes, {c: amap.communes[c].name for c in communes})
    out.outside_by_province = _ranked(others, {p: amap.provinces[p].name for p in others})
    order = {t.code: i for i, t in enumerate(UNIT_TYPE_LIST)}
    out.by_unit_type = sorted(
        (PlaceCount(t, UNIT_TYPE_NAMES.get(t, t), n) for t, n in types.items()),
        key=lambda p: order.get(p.code, len(order)),
    )
    return out
