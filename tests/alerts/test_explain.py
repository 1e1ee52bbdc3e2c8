"""alerts.cases.explain: every figure a case records has a Vietnamese name, and values are
written as a reader expects (decimal comma, local time, codes named, yes/no)."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.cases.explain import DETAIL_NAMES, FACTOR_NAMES, HIDDEN, explain, plain
from alerts.detection.factbank import FactMatch
from alerts.detection.scoring import DocSignal, score_story
from tests.e2e.repr_guard import problems

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def test_every_recorded_key_has_a_vietnamese_name() -> None:
    # given what the scoring and the fact bank record on a case
    hot = score_story([DocSignal("d", T0, 1, scope="social", topics=["day_them"])]).details()
    misinfo = FactMatch(1, 0.95, "Tin đồn", "Đính chính", "Câu trùng").details()
    # then each key (a new one added to scoring too) has a name for "Chi tiết kỹ thuật"
    assert set(hot) - HIDDEN - set(DETAIL_NAMES) == set()
    assert set(misinfo) - set(DETAIL_NAMES) == set()
    assert set(hot["components"]) - {"content", "spread"} == set(FACTOR_NAMES)


def test_values_read_as_words() -> None:
    assert plain("score", 19.8) == "19,8"
    assert plain("names_province", False) == "không"
    assert plain("path", ["social", "local"]) == "Mạng xã hội → Báo địa phương"
    assert plain("topics", ["bao_luc_hoc_duong"]) == "Bạo lực học đường"
    assert plain("topics", []) == "không có"
    assert plain("period", None) == "—"
    assert plain("as_of", "2026-11-16T01:00:00+00:00") == "16/11/2026 08:00"
    assert plain("documents", ["a", "b"]) == "2"


def test_a_hot_case_explained_has_no_program_value() -> None:
    # given a story on a forum only, neutral, about extra classes
    signal = DocSignal("d", T0, 1, scope="social", risk="theo_doi", risk_score=0.4,
                       topics=["day_them"])  # fmt: skip
    result = score_story([signal])
    why = explain("hot", result.details(), score=result.score)
    # then the sentence is plain Vietnamese and flags the low score
    assert why.sentence == (
        "Nội dung cần theo dõi về dạy thêm, học thêm, không mang sắc thái tiêu cực, 1 nguồn, "
        "chưa lan sang báo trung ương (điểm đã giảm dưới ngưỡng 40)."
    )
    assert why.below_threshold
    text = " ".join([why.sentence, *(f.name for f in why.factors),
                     *(f"{k} {v}" for k, v in why.technical)])  # fmt: skip
    assert problems(text) == []
