"""The hot-issue score of a story (not of one article), its severity band and the reasons.

score = 100 * content * (0.4 + 0.6 * spread), both in [0, 1]:
- content: how alarming the story is (classifier risk, negative share, topic sensitivity,
  whether it is about the province (old names and communes too, core.geo) or names its
  units, or is about a neighbouring province, misinformation, toxicity);
- spread: how far and fast it travels (outlet scope reached social -> local -> national,
  documents and outlets per hour, reach).
A story nobody repeats can still reach "medium" on content alone; only spread makes it
"critical". Weights and bands are in docs/decisions.md."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.taxonomy import SCOPE_NAMES

# Topic sensitivity for a provincial Department (taxonomy.md): harm to students first.
TOPIC_WEIGHTS: dict[str, float] = {
    "bao_luc_hoc_duong": 1.0,
    "an_toan_suc_khoe": 1.0,
    "hoc_phi_thu_chi": 0.9,
    "nha_giao": 0.8,
    "thi_tuyen_sinh": 0.8,
    "day_them": 0.7,
    "mam_non": 0.6,
    "chinh_sach": 0.5,
    "chuong_trinh_sgk": 0.5,
    "co_so_vat_chat": 0.5,
    "dao_duc_ky_nang": 0.3,
    "dai_hoc_nghe": 0.3,
    "quoc_phong_an_ninh": 0.3,
    "chuyen_doi_so": 0.2,
    "khac": 0.1,
    "guong_dien_hinh": 0.0,
}
CONTENT_WEIGHTS = {
    "risk": 0.40,
    "negative": 0.15,
    "topic": 0.15,
    "locality": 0.15,
    "misinformation": 0.10,
    "toxicity": 0.05,
}
SPREAD_WEIGHTS = {"stage": 0.35, "velocity": 0.25, "outlets": 0.15, "reach": 0.25}
# How far a story has travelled: a forum post, then the local paper, then national press.
SCOPE_STAGE = {"social": 0.25, "local": 0.6, "national": 1.0}
SCOPE_ORDER = ("social", "local", "national")
# Lower bounds of each band; below "medium" a story raises no alert.
BANDS: tuple[tuple[str, float], ...] = (("critical", 70.0), ("high", 55.0), ("medium", 40.0))
ALERT_THRESHOLD = 40.0
# A label's floor, so a "nóng" item with a hesitant probability still counts as nóng.
RISK_FLOOR = {"nong": 0.7, "theo_doi": 0.35, "binh_thuong": 0.0}
# content.locality: names a unit of the Department > about its province > about a province
# bordering it (context to watch, "theo dõi") > elsewhere or nowhere in particular.
LOCALITY = {"unit": 1.0, "own": 0.6, "neighbour": 0.3}
WINDOWS_H = (1, 6)


@dataclass(slots=True)
class DocSignal:
    """What scoring needs of one document of the story."""

    doc_id: str
    at: datetime
    source_id: int
    scope: str = "national"
    risk: str = "binh_thuong"
    risk_score: float = 0.0
    sentiment: str = "trung_tinh"
    toxicity: float = 0.0
    misinformation: float = 0.0
    topics: Sequence[str] = ()
    reach: int = 0
    unit_ids: Sequence[int] = ()
    names_province: bool = False
    # About a province that borders the Department's (core.geo.profile.neighbours).
    near_province: bool = False


@dataclass(slots=True)
class StoryScore:
    """A story's score, its band and the breakdown shown as "why flagged"."""

    score: float
    severity: str
    components: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        """The JSON kept on the alert."""
        return {
            "score": self.score,
            "severity": self.severity,
            "components": self.components,
            "weights": {"content": CONTENT_WEIGHTS, "spread": SPREAD_WEIGHTS},
            "formula": "100 * content * (0.4 + 0.6 * spread)",
            **self.facts,
        }


def band(score: float) -> str:
    """The severity band of a score (low / medium / high / critical)."""
    for name, lower in BANDS:
        if score >= lower:
            return name
    return "low"


def _saturate(x: float, scale: float) -> float:
    return 1.0 - math.exp(-max(x, 0.0) / scale)


def _rates(docs: Sequence[DocSignal], now: datetime) -> tuple[float, float]:
    """Peak documents and distinct outlets per hour over the recent windows."""
    doc_rate = outlet_rate = 0.0
    for hours in WINDOWS_H:
        recent = [d for d in docs if now - timedelta(hours=hours) <= d.at <= now]
        doc_rate = max(doc_rate, len(recent) / hours)
        outlet_rate = max(outlet_rate, len({d.source_id for d in recent}) / hours)
    return doc_rate, outlet_rate


def _path(docs: Sequence[DocSignal]) -> list[str]:
    """Scopes in the order the story first reached them."""
    seen: list[str] = []
    for d in sorted(docs, key=lambda d: d.at):
        if d.scope not in seen:
            seen.append(d.scope)
    return seen


def _locality(names_unit: bool, names_province: bool, near_province: bool) -> float:
    if names_unit:
        return LOCALITY["unit"]
    if names_province:
        return LOCALITY["own"]
    return LOCALITY["neighbour"] if near_province else 0.0


def score_story(docs: Sequence[DocSignal], now: datetime | None = None) -> StoryScore:
    """Score a story from its documents; `now` defaults to its newest document's time, so
    re-scoring later (a redelivered task, a replay) gives the same result."""
    if not docs:
        return StoryScore(0.0, "low")
    now = now or max(d.at for d in docs)
    risks = [max(d.risk_score, RISK_FLOOR.get(d.risk, 0.0)) for d in docs]
    unit_ids = sorted({u for d in docs for u in d.unit_ids})
    names_province = any(d.names_province for d in docs)
    near_province = not names_province and any(d.near_province for d in docs)
    topic_weights = [TOPIC_WEIGHTS.get(t, 0.3) for d in docs for t in d.topics]
    content = {
        "risk": 0.5 * max(risks) + 0.5 * sum(risks) / len(risks),
        "negative": sum(d.sentiment == "tieu_cuc" for d in docs) / len(docs),
        "topic": max(topic_weights, default=0.0),
        "locality": _locality(bool(unit_ids), names_province, near_province),
        "misinformation": max(d.misinformation for d in docs),
        "toxicity": sum(d.toxicity for d in docs) / len(docs),
    }
    doc_rate, outlet_rate = _rates(docs, now)
    outlets = len({d.source_id for d in docs})
    reach = sum(d.reach for d in docs)
    spread = {
        "stage": max(SCOPE_STAGE.get(d.scope, 0.6) for d in docs),
        "velocity": 0.5 * _saturate(doc_rate, 3.0) + 0.5 * _saturate(outlet_rate, 2.0),
        "outlets": min(1.0, (outlets - 1) / 5),
        "reach": min(1.0, math.log10(1 + reach) / 5),
    }
    content_total = sum(CONTENT_WEIGHTS[k] * v for k, v in content.items())
    spread_total = sum(SPREAD_WEIGHTS[k] * v for k, v in spread.items())
    score = round(100.0 * content_total * (0.4 + 0.6 * spread_total), 1)
    components = {f"content.{k}": round(v, 3) for k, v in content.items()}
    components |= {f"spread.{k}": round(v, 3) for k, v in spread.items()}
    components |= {"content": round(content_total, 3), "spread": round(spread_total, 3)}
    topics = sorted({t for d in docs for t in d.topics}, key=lambda t: -TOPIC_WEIGHTS.get(t, 0.3))
    facts = {
        "documents": len(docs),
        "outlets": outlets,
        "path": _path(docs),
        "docs_per_hour": round(doc_rate, 2),
        "outlets_per_hour": round(outlet_rate, 2),
        "reach": reach,
        "topics": topics,
        "unit_ids": unit_ids,
        "names_province": names_province,
        "near_province": near_province,
        "as_of": now.isoformat(),
    }
    return StoryScore(score, band(score), components, facts)


def reasons(result: StoryScore) -> list[str]:
    """Short Vietnamese reasons for the inbox ("vì sao cảnh báo")."""
    c, f = result.components, result.facts
    out = []
    if c.get("content.risk", 0) >= 0.6:
        out.append("Nội dung được phân loại là vấn đề nóng")
    if c.get("content.negative", 0) >= 0.5:
        out.append("Phần lớn bài viết mang sắc thái tiêu cực")
    if f.get("unit_ids"):
        out.append("Nêu tên đơn vị trực thuộc")
    elif f.get("names_province"):
        out.append("Nêu tên tỉnh/thành phố")
    elif f.get("near_province"):
        out.append("Xảy ra ở tỉnh lân cận (theo dõi)")
    path = [SCOPE_NAMES.get(s, s).lower() for s in f.get("path", [])]
    if len(path) > 1:
        out.append("Lan truyền: " + " → ".join(path))
    if f.get("outlets", 0) > 1:
        out.append(f"{f['outlets']} nguồn đưa tin, {f['documents']} bài")
    if c.get("content.misinformation", 0) >= 0.5:
        out.append("Có dấu hiệu thông tin sai lệch")
    return out
