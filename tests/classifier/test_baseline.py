"""The keyword baseline classifier: labels on small hand-written texts."""

from __future__ import annotations

import pytest

from classifier.base import Prediction
from classifier.baseline import MODEL_VERSION, TOPICS, BaselineClassifier
from core.text import strip_accents

VIOLENCE = (
    "Nữ sinh lớp 8 bị đánh hội đồng ngay cổng trường THCS, clip lan truyền khiến phụ huynh "
    "bức xúc. Vụ bạo lực học đường đang được công an xác minh."
)
AWARD = (
    "Sở Giáo dục và Đào tạo khen thưởng 20 học sinh đạt giải nhất kỳ thi học sinh giỏi, "
    "đồng thời trao học bổng cho các em vượt khó."
)
NOT_EDUCATION = "Giá xăng giảm nhẹ từ chiều nay, giá vàng trong nước đi ngang."


@pytest.fixture(scope="module")
def model() -> BaselineClassifier:
    return BaselineClassifier()


def test_violence_report_is_hot_and_negative(model: BaselineClassifier) -> None:
    # when
    (p,) = model.predict([VIOLENCE])
    # then
    assert p.topics[0] == "bao_luc_hoc_duong"
    assert (p.sentiment, p.risk) == ("tieu_cuc", "nong")
    assert p.sentiment_score < 0 and p.risk_score > 0.5
    assert p.relevance > 0.5


def test_award_news_is_positive_and_calm(model: BaselineClassifier) -> None:
    # when
    (p,) = model.predict([AWARD])
    # then
    assert "guong_dien_hinh" in p.topics
    assert (p.sentiment, p.risk) == ("tich_cuc", "binh_thuong")
    assert p.sentiment_score > 0


def test_text_without_diacritics_gets_the_same_labels(model: BaselineClassifier) -> None:
    # when
    accented, bare = model.predict([VIOLENCE, strip_accents(VIOLENCE)])
    # then
    assert (bare.topics, bare.sentiment, bare.risk) == (
        accented.topics,
        accented.sentiment,
        accented.risk,
    )
    assert bare.relevance == accented.relevance


def test_unrelated_text_is_irrelevant_and_khac(model: BaselineClassifier) -> None:
    # when
    (p,) = model.predict([NOT_EDUCATION])
    # then
    assert p.relevance < 0.2
    assert p.topics == ["khac"] and p.risk == "binh_thuong" and p.sentiment == "trung_tinh"


def test_order_to_stop_over_collection_is_watch_not_hot(model: BaselineClassifier) -> None:
    # given: one mention of lạm thu in a directive (taxonomy: theo_doi, not nong)
    text = "Sở GDĐT yêu cầu các trường chấm dứt tình trạng lạm thu đầu năm học."
    # when
    (p,) = model.predict([text])
    # then
    assert "hoc_phi_thu_chi" in p.topics and p.risk == "theo_doi"


def test_folding_collisions_do_not_fire(model: BaselineClassifier) -> None:
    # given: "làm thủ tục" folds to "lam thu tuc", which contains "lam thu" (lạm thu)
    text = "Phụ huynh đưa con đến trường làm thủ tục nhập học lớp 1."
    # when
    (p,) = model.predict([text])
    # then
    assert "hoc_phi_thu_chi" not in p.topics and p.risk == "binh_thuong"


def test_toxicity_and_misinformation_cues(model: BaselineClassifier) -> None:
    # when
    rude, rumour = model.predict(
        ["Đồ ngu, thằng ngu dốt mất dạy", "Tin đồn sai sự thật về lịch thi lan truyền trên mạng"]
    )
    # then
    assert rude.toxicity > 0.5 and rumour.toxicity == 0.0
    assert rumour.misinformation > 0.5 and rude.misinformation == 0.0


@pytest.mark.parametrize("text", ["", "   ", VIOLENCE, AWARD, NOT_EDUCATION, "a" * 10_000])
def test_every_prediction_is_well_formed(model: BaselineClassifier, text: str) -> None:
    # when
    (p,) = model.predict([text])
    # then
    assert isinstance(p, Prediction) and p.model_version == MODEL_VERSION
    assert 1 <= len(p.topics) <= 3
    assert set(p.topics) <= set(TOPICS) | {"khac"}
    assert set(p.topic_scores) == set(p.topics)
    assert all(0.0 <= s <= 1.0 for s in p.topic_scores.values())
    assert p.sentiment in {"tieu_cuc", "trung_tinh", "tich_cuc"}
    assert p.risk in {"nong", "theo_doi", "binh_thuong"}
    assert -1.0 <= p.sentiment_score <= 1.0
    for value in (p.relevance, p.risk_score, p.toxicity, p.misinformation):
        assert 0.0 <= value <= 1.0


def test_batch_keeps_order(model: BaselineClassifier) -> None:
    # when
    out = model.predict([AWARD, NOT_EDUCATION, VIOLENCE])
    # then
    assert [p.sentiment for p in out] == ["tich_cuc", "trung_tinh", "tieu_cuc"]
