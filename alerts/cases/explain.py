""" "Vì sao được gắn cờ" in words a press officer reads without training.

From what a case recorded when it was scored (Alert.details): one Vietnamese sentence of
why, the score's factors as labelled bars, and the raw figures as labelled, formatted rows
(shown behind a "Chi tiết kỹ thuật" toggle). Nothing here prints a Python value as is: every
key has a Vietnamese name and every value goes through `plain()`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.detection.scoring import ALERT_THRESHOLD
from core.taxonomy import (
    KIND_NAMES,
    RISK_NAMES,
    SCOPE_NAMES,
    SENTIMENT_NAMES,
    SEVERITY_NAMES,
    TOPIC_NAMES,
)

BELOW_THRESHOLD = "điểm đã giảm dưới ngưỡng"
# The score's factors (alerts.detection.scoring), in the order the page lists them.
FACTOR_NAMES = {
    "content.risk": "Mức độ nóng của nội dung",
    "content.negative": "Tỷ lệ bài tiêu cực",
    "content.topic": "Độ nhạy cảm của chủ đề",
    "content.locality": "Nêu tên địa phương, đơn vị",
    "content.misinformation": "Dấu hiệu thông tin sai lệch",
    "content.toxicity": "Ngôn từ xúc phạm",
    "spread.stage": "Phạm vi lan truyền",
    "spread.velocity": "Tốc độ đưa tin",
    "spread.outlets": "Số nguồn đưa tin",
    "spread.reach": "Lượt tương tác",
}
# Every key a case's details may hold (hot, rule, misinfo, spike), named for the toggle.
DETAIL_NAMES = {
    "score": "Điểm",
    "severity": "Mức độ theo điểm",
    "content": "Điểm nội dung (0–1)",
    "spread": "Điểm lan truyền (0–1)",
    "formula": "Công thức",
    "documents": "Số tin, bài",
    "outlets": "Số nguồn",
    "path": "Đường lan truyền",
    "docs_per_hour": "Tin, bài mỗi giờ (cao nhất)",
    "outlets_per_hour": "Nguồn mỗi giờ (cao nhất)",
    "reach": "Lượt tương tác",
    "topics": "Chủ đề",
    "unit_ids": "Đơn vị được nêu tên",
    "names_province": "Nêu tên tỉnh/thành phố",
    "near_province": "Xảy ra ở tỉnh lân cận",
    "as_of": "Tính đến",
    "reasons": "Lý do",
    "first_document": "Tin, bài đầu tiên",
    "fact_id": "Mã thông tin trong ngân hàng",
    "similarity": "Độ tương đồng với thông tin đã bác bỏ",
    "statement": "Thông tin đã bác bỏ",
    "correction": "Nội dung đính chính",
    "matched_sentence": "Câu trùng khớp",
    "misinformation": "Xác suất thông tin sai lệch",
    "dimension": "Chiều thống kê",
    "key": "Mã",
    "label": "Nhãn",
    "day": "Ngày",
    "count": "Số tin, bài trong cửa sổ",
    "baseline_mean": "Trung bình cùng kỳ",
    "baseline_std": "Độ lệch chuẩn cùng kỳ",
    "ratio": "Gấp bao nhiêu lần cùng kỳ",
    "z": "Chỉ số z",
    "samples": "Số kỳ so sánh",
    "period": "Giai đoạn năm học",
    "window_hours": "Cửa sổ (giờ)",
    "message": "Nội dung",
    "risk_score": "Xác suất nội dung nóng",
    "peak_severity": "Mức độ cao nhất đã đạt",
} | FACTOR_NAMES
# Keys whose values are codes with Vietnamese names.
CODE_NAMES: dict[str, Mapping[str, str]] = {
    "topics": TOPIC_NAMES,
    "path": SCOPE_NAMES,
    "severity": SEVERITY_NAMES,
    "peak_severity": SEVERITY_NAMES,
    "risk": RISK_NAMES,
    "sentiment": SENTIMENT_NAMES,
    "dimension": {"topic": "Chủ đề", "unit": "Đơn vị", "rule": "Quy tắc"},
}
# Recorded for the machinery, not the reader (the formula is written out in Vietnamese).
# (The recorded score and severity are the case's own, shown once at the top.)
HIDDEN = {"weights", "components", "severity", "score"}
TIMEZONE = "Asia/Ho_Chi_Minh"
COMPONENT_ROWS = {"content": "Điểm nội dung (0–1)", "spread": "Điểm lan truyền (0–1)"} | {
    k: f"{v} (0–1)" for k, v in FACTOR_NAMES.items()
}
FORMULA = "100 × nội dung × (0,4 + 0,6 × lan truyền)"


@dataclass(frozen=True, slots=True)
class Factor:
    """One bar: a factor's Vietnamese name and its value in [0, 1]."""

    name: str
    value: float

    @property
    def percent(self) -> int:
        return round(100 * min(max(self.value, 0.0), 1.0))


@dataclass(slots=True)
class Explanation:
    """What the case page shows under "Vì sao được gắn cờ"."""

    sentence: str
    factors: list[Factor] = field(default_factory=list)
    technical: list[tuple[str, str]] = field(default_factory=list)
    below_threshold: bool = False


def number(value: float, digits: int = 2) -> str:
    """A number as Vietnamese writes it: decimal comma, no trailing zeros ("19,8")."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text.replace(".", ",")


def plain(key: str, value: Any) -> str:
    """A recorded value in words: codes named, yes/no, numbers with a decimal comma."""
    names = CODE_NAMES.get(key, {})
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, int | float):
        return number(float(value), 3)
    if key == "documents" and isinstance(value, list):
        return str(len(value))  # a rule or misinfo case lists its documents' ids
    if isinstance(value, str):
        if key == "as_of":
            return _local(value)
        return FORMULA if key == "formula" else names.get(value, value)
    if isinstance(value, Mapping):
        parts = [f"{DETAIL_NAMES.get(k, 'khác')}: {plain(k, v)}" for k, v in value.items()]
        return "; ".join(parts) or "không có"
    if isinstance(value, Sequence):
        sep = " → " if key == "path" else ", "
        return sep.join(plain(key, v) for v in value) or "không có"
    return str(value)


def is_below_threshold(kind: str, score: float) -> bool:
    """A hot case whose current score fell under the alert threshold (it stays open)."""
    return kind == "hot" and score < ALERT_THRESHOLD


def _local(iso: str) -> str:
    """An ISO time as the pages show times: local, dd/mm/yyyy HH:MM."""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(TIMEZONE)).strftime("%d/%m/%Y %H:%M")


def _lower(names: Mapping[str, str], codes: Sequence[str], most: int = 2) -> str:
    named = [names.get(c, c) for c in codes if c in names and c != "khac"][:most]
    return " và ".join(n[0].lower() + n[1:] for n in named)


def hot_sentence(details: Mapping[str, Any], unit_names: Sequence[str] = ()) -> str:
    """ "Nội dung nóng về bạo lực học đường, sắc thái tiêu cực, 1 nguồn, chưa lan sang báo
    trung ương" from a hot case's components and facts."""
    c = details.get("components") or {}
    risk = float(c.get("content.risk", 0))
    head = (
        "Nội dung nóng"
        if risk >= 0.6
        else "Nội dung cần theo dõi"
        if risk >= 0.35
        else "Nội dung ít rủi ro"
    )
    about = _lower(TOPIC_NAMES, details.get("topics") or [])
    parts = [f"{head} về {about}" if about else head]
    negative = float(c.get("content.negative", 0))
    if negative >= 0.5:
        parts.append("sắc thái tiêu cực")
    elif negative > 0:
        parts.append("một phần tiêu cực")
    else:
        parts.append("không mang sắc thái tiêu cực")
    if unit_names:
        parts.append("nêu tên " + ", ".join(unit_names[:2]))
    elif details.get("names_province"):
        parts.append("nêu tên tỉnh/thành phố")
    elif details.get("near_province"):
        parts.append("xảy ra ở tỉnh lân cận")
    if float(c.get("content.misinformation", 0)) >= 0.5:
        parts.append("có dấu hiệu thông tin sai lệch")
    outlets = int(details.get("outlets") or 0)
    recorded = details.get("documents")
    docs = recorded if isinstance(recorded, int) else 0
    parts.append(f"{outlets} nguồn" + (f", {docs} tin, bài" if docs > outlets else ""))
    path = list(details.get("path") or [])
    if "national" in path:
        parts.append("đã lên báo trung ương")
    else:
        parts.append("chưa lan sang báo trung ương")
    return ", ".join(parts)


def explain(
    kind: str,
    details: Mapping[str, Any],
    *,
    score: float,
    rule_name: str | None = None,
    unit_names: Sequence[str] = (),
    doc_count: int = 0,
) -> Explanation:
    """The page's "why" for one case."""
    if kind == "hot":
        sentence = hot_sentence(details, unit_names)
    elif kind == "rule":
        rule = rule_name or "đã xóa"
        sentence = f"Tin, bài khớp quy tắc theo dõi «{rule}» ({doc_count} tin, bài)"
    elif kind == "misinfo":
        similarity = float(details.get("similarity") or score)
        sentence = (
            "Lặp lại thông tin Sở đã bác bỏ "
            f"(độ tương đồng {number(100 * similarity, 0)}%, {doc_count} tin, bài)"
        )
    elif kind == "spike":
        sentence = str(details.get("message") or "Số tin, bài tăng đột biến so với cùng kỳ")
    else:
        sentence = KIND_NAMES.get(kind, "Cảnh báo")
    below = is_below_threshold(kind, score)
    if below:
        sentence += f" ({BELOW_THRESHOLD} {number(ALERT_THRESHOLD, 0)})"
    components = details.get("components") or {}
    factors = [
        Factor(name, float(components[k])) for k, name in FACTOR_NAMES.items() if k in components
    ]
    technical = [("Điểm hiện tại", number(score, 2))]
    technical += [
        (name, number(float(components[key]), 3))
        for key, name in COMPONENT_ROWS.items()
        if key in components
    ]
    for key, value in details.items():
        if key in HIDDEN:
            continue
        shown = ", ".join(unit_names) if key == "unit_ids" and unit_names else plain(key, value)
        technical.append((DETAIL_NAMES.get(key, "Thông số khác"), shown))
    return Explanation(sentence + ".", factors, technical, below)
