"""Story hot score: bands, what raises it, and the "why flagged" breakdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.detection.scoring import (
    ALERT_THRESHOLD,
    BANDS,
    DocSignal,
    band,
    reasons,
    score_story,
)
from core.taxonomy import severity_rank

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def _doc(i: int, hours: float, scope: str, **kw: object) -> DocSignal:
    base: dict = {
        "risk": "nong", "risk_score": 0.8, "sentiment": "tieu_cuc",
        "topics": ["bao_luc_hoc_duong"], "unit_ids": [1], "reach": 50,
    }  # fmt: skip
    base.update(kw)
    return DocSignal(f"d{i}", T0 + timedelta(hours=hours), source_id=i, scope=scope, **base)


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, "low"), (39.9, "low"), (40, "medium"), (54.9, "medium"), (55, "high"),
     (69.9, "high"), (70, "critical"), (100, "critical")],
)  # fmt: skip
def test_bands(score: float, expected: str) -> None:
    assert band(score) == expected
    assert dict(BANDS)["medium"] == ALERT_THRESHOLD


def test_rank_orders_severities() -> None:
    assert [severity_rank(s) for s in ("low", "medium", "high", "critical")] == [0, 1, 2, 3]


def test_quiet_positive_story_stays_low() -> None:
    docs = [
        _doc(i, i, "national", risk="binh_thuong", risk_score=0.0, sentiment="tich_cuc",
             topics=["guong_dien_hinh"], reach=5000)
        for i in range(8)
    ]  # fmt: skip
    result = score_story(docs)
    # wide coverage of good news is not a crisis
    assert result.severity == "low" and result.score < 20


def test_one_hot_post_is_medium_and_spread_makes_it_critical() -> None:
    post = _doc(0, 0, "social")
    alone = score_story([post])
    assert alone.severity == "medium"
    local = score_story([post, _doc(1, 2, "local"), _doc(2, 2.5, "local")])
    national = score_story(
        [post, _doc(1, 2, "local"), _doc(2, 2.5, "local")]
        + [_doc(i, 3 + i / 4, "national", reach=3000) for i in range(3, 8)]
    )
    assert alone.score < local.score < national.score
    assert national.severity == "critical"
    assert national.facts["path"] == ["social", "local", "national"]


def test_each_signal_raises_the_score() -> None:
    plain = {"unit_ids": [], "risk": "theo_doi", "risk_score": 0.4, "sentiment": "trung_tinh",
             "topics": ["chuyen_doi_so"]}  # fmt: skip
    low = score_story([_doc(0, 0, "local", **plain)]).score
    for change in (
        {"risk": "nong", "risk_score": 0.9},
        {"sentiment": "tieu_cuc"},
        {"topics": ["an_toan_suc_khoe"]},
        {"unit_ids": [3]},
        {"names_province": True},
        {"misinformation": 0.9},
        {"toxicity": 0.9},
        {"reach": 100_000},
    ):
        assert score_story([_doc(0, 0, "local", **{**plain, **change})]).score > low, change


def test_breakdown_explains_the_score() -> None:
    docs = [_doc(0, 0, "social"), _doc(1, 1, "local"), _doc(2, 1.5, "national")]
    result = score_story(docs)
    details = result.details()
    content, spread = details["components"]["content"], details["components"]["spread"]
    assert details["score"] == pytest.approx(100 * content * (0.4 + 0.6 * spread), abs=0.2)
    assert details["unit_ids"] == [1] and details["outlets"] == 3
    why = reasons(result)
    assert "Nêu tên đơn vị trực thuộc" in why
    assert "Lan truyền: mạng xã hội → báo địa phương → báo trung ương" in why


def test_velocity_is_measured_at_the_newest_document() -> None:
    # the same story scored now or a week later gives the same result (replays, retries)
    docs = [_doc(i, i / 2, "local") for i in range(4)]
    assert score_story(docs).score == score_story(list(reversed(docs))).score
    slow = [_doc(i, i * 10, "local") for i in range(4)]
    assert (
        score_story(slow).components["spread.velocity"]
        < score_story(docs).components["spread.velocity"]
    )
