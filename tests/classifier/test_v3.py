"""v3 training on the press office's labels: tiny corpus, tiny encoder, a tiny e5s-v2-like base.

Checks the plumbing issue 20 asks for: every committed batch is read (a new one is picked up
by a rerun, which encodes only its texts), each item is trained in four kinds, thresholds
exist per kind, the kept heads score exactly as the base's, the figures reach the card.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from classifier.features import ENGAGEMENT_DIM, EmbeddingCache, embedding_cache_dir
from classifier.heads import MultiHeadModel
from classifier.kinds import KINDS, decision_score, document_kind, kind_threshold, text_kind
from classifier.service import ModelPrediction, TrainedClassifier
from classifier.training.press import read_labels, variant_text
from classifier.training.train import train
from classifier.training.v3 import V3Args, train_v3
from core.settings import Settings
from tests.classifier.test_train import (
    EDU,
    OTHER,
    tiny_args,
    write_tiny_corpus,
    write_tiny_encoder,
)

HEADER = ["baomoi_id", "relevant", "topics", "risk", "sentiment", "confident"]


def _label_rows(data: Path, ids: range) -> list[list[object]]:
    """Labels for baomoi train rows by their (known) tiny-corpus text, as a labeller would."""
    with (data / "baomoi" / "train.csv").open(encoding="utf-8") as fh:
        rows = {r["baomoi_id"]: r for r in csv.DictReader(fh)}
    out: list[list[object]] = []
    for i in ids:
        title = rows[str(i)]["title"]
        if any(title.startswith(t) for t in EDU):
            nong = "đánh" in title or "lạm thu" in title
            out.append([i, 1, "khac", "nong" if nong else "binh_thuong", "trung_tinh", 1])
        else:
            out.append([i, 0, "", "", "", int(i % 5 != 0)])
    return out


def _write_batch(path: Path, rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])


def _write_relevance_dev(data: Path) -> None:
    header = ["baomoi_id", "title", "sapo", "section", "relevant", "topics", "risk", "sentiment",
              "confident"]  # fmt: skip
    rows = [[f"e{i}", t, "", "x", 1, "khac", "binh_thuong", "trung_tinh", 1] for i, t in
            enumerate(EDU)] + [[f"o{i}", t, "", "x", 0, "", "", "", 1] for i, t in
                               enumerate(OTHER)]  # fmt: skip
    path = data / "edu-relevance" / "dev.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-v3")
    write_tiny_corpus(root / "data")
    write_tiny_encoder(root / "encoder")
    _write_relevance_dev(root / "data")
    train(tiny_args(root, compare_variants=False, output_dir=root / "base"))
    _write_batch(root / "labels" / "batch_01.csv", _label_rows(root / "data", range(0, 60)))
    return root


def _args(root: Path) -> V3Args:
    return V3Args(
        base=root / "base", labels_dir=root / "labels", data_dir=root / "data",
        work_dir=root / "work", encoder_dir=root / "encoder", output_dir=root / "v3",
        folds=2, threads=1,
    )  # fmt: skip


def test_every_item_is_written_in_four_kinds() -> None:
    texts = {k: variant_text(k, "Học sinh đi học", "Sáng nay các em tựu trường.") for k in KINDS}
    assert texts["headline"] == "Học sinh đi học"
    assert texts["title_lead"] == "Học sinh đi học\nSáng nay các em tựu trường."
    assert texts["body"] == "Sáng nay các em tựu trường."
    assert texts["social"] in (
        "học sinh đi học sáng nay các em tựu trường.",
        "hoc sinh di hoc sang nay cac em tuu truong.",
    )


def test_v3_trains_per_kind_thresholds_and_picks_up_new_batches(tiny: Path) -> None:
    # when
    out = train_v3(_args(tiny))
    # then
    model = MultiHeadModel.from_pretrained(out)
    thr = model.config.thresholds
    for head in ("relevance", "misinformation", "toxicity"):
        assert {f"{head}/{k}" for k in KINDS} <= set(thr)
    assert "sentiment_news" in model.specs
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))["metrics"]
    assert metrics["press_labels"]["items"] == 60
    assert set(metrics["edu_relevance_dev"]) == set(KINDS)
    assert metrics["relevance"]["cv_press_labels"]["title_lead"]["roc_auc"] >= 0.9
    assert metrics["press_items_fixture"]["items"] >= 40
    card = (out / "MODEL_CARD.md").read_text("utf-8")
    assert "read and labelled one by one" in card and "edu-relevance dev F1" in card
    # the kept heads are the base's, unchanged
    base = MultiHeadModel.from_pretrained(tiny / "base")
    for name in ("toxicity", "misinformation", "sentiment"):
        assert torch.equal(model.heads[name].weight, base.heads[name].weight)
        assert model.config.temperatures[name] == base.config.temperatures[name]

    # given a new batch committed
    _write_batch(tiny / "labels" / "batch_02.csv", _label_rows(tiny / "data", range(60, 80)))
    cache = EmbeddingCache(embedding_cache_dir(tiny / "work", tiny / "encoder", 32))
    before = len(cache)
    # when
    out = train_v3(_args(tiny))
    # then
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))["metrics"]
    assert metrics["press_labels"]["items"] == 80 and metrics["press_labels"]["batches"] == 2
    grown = len(EmbeddingCache(embedding_cache_dir(tiny / "work", tiny / "encoder", 32)))
    assert 0 < grown - before <= 20 * len(KINDS)


def test_a_later_batch_wins_an_id(tmp_path: Path) -> None:
    _write_batch(tmp_path / "batch_01.csv", [[7, 0, "", "", "", 1]])
    _write_batch(tmp_path / "batch_02.csv", [[7, 1, "khac", "nong", "tieu_cuc", 0]])
    assert read_labels(tmp_path)["7"]["relevant"] == "1"


def test_a_documents_kind_comes_from_what_it_has() -> None:
    body = "Nội dung bài viết. " * 40
    assert document_kind("Tiêu đề", "", "") == "headline"
    assert document_kind("Tiêu đề", "Sapo ngắn.", "") == "title_lead"
    assert document_kind("Tiêu đề", "Sapo ngắn.", "Chú thích ảnh.") == "title_lead"
    assert document_kind("Tiêu đề", "", body) == "body"
    assert document_kind("", "", "bình luận", document_kind="comment") == "social"
    assert document_kind("Tiêu đề", "", body, source_kind="facebook") == "social"
    assert text_kind("Học sinh đi học") == "headline"
    assert text_kind("Học sinh đi học\nSáng nay các em tựu trường.") == "title_lead"
    assert (
        kind_threshold({"relevance": 0.4, "relevance/headline": 0.3}, "relevance", "headline")
        == 0.3
    )
    assert kind_threshold({"relevance": 0.4}, "relevance", "social") == 0.4  # a v2 artefact
    assert decision_score(0.3, 0.3) == 0.5 and decision_score(0.0, 0.3) == 0.0
    assert decision_score(1.0, 0.3) == 1.0 and decision_score(0.15, 0.3) == 0.25
    assert decision_score(0.2, 0.3) < decision_score(0.4, 0.3) < decision_score(0.9, 0.3)


def test_the_service_decides_each_text_at_its_kinds_threshold(tiny: Path) -> None:
    out = tiny / "v3"
    if not (out / "heads_config.json").is_file():
        train_v3(_args(tiny))
    settings = Settings(environment="test", secret_key="test", data_dir=tiny / "var")
    clf = TrainedClassifier(
        out, settings, encoder_dir=tiny / "encoder", batch_size=4, runtime="torch"
    )
    text = "Học sinh lớp 9 ôn thi vào lớp 10"
    # when
    preds = clf.predict([text] * 4, kinds=list(KINDS))
    untold = clf.predict([text, text], engagement=[None, [1.0] * ENGAGEMENT_DIM])
    # then
    thr = clf.load().config.thresholds
    for kind, p in zip(KINDS, preds, strict=True):
        assert isinstance(p, ModelPrediction) and p.kind == kind
        prob = p.probabilities
        assert p.flags["relevant"] is (prob["relevance"]["education"] >= thr[f"relevance/{kind}"])
        assert p.flags["unreliable"] is (
            prob["misinformation"]["unreliable"] >= thr[f"misinformation/{kind}"]
        )
        # stored scores are decision scores: a 0.5 cut downstream decides as the flags do
        assert (p.relevance >= 0.5) is p.flags["relevant"]
        assert (p.misinformation >= 0.5) is p.flags["unreliable"]
    assert [p.kind for p in untold] == ["headline", "social"]  # type: ignore[attr-defined]
    # title + lead and bodies: the news-sentiment head; a line or a post: the general one
    for p, head in zip(
        preds, ("sentiment", "sentiment_news", "sentiment_news", "sentiment"), strict=True
    ):
        probs = p.probabilities[head]
        assert p.sentiment == max(probs, key=probs.__getitem__)
