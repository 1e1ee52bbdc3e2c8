"""MultiHeadModel on a tiny random BertModel: shapes, save/load, calibration, metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from classifier.features import NgramConfig, engagement_vector, ngram_batch, ngram_counts
from classifier.heads import (
    CONFIG_FILE,
    ENCODER_DELTA_FILE,
    WEIGHTS_FILE,
    HeadsConfig,
    MultiHeadModel,
    decide_topics,
    fit_temperature,
)
from classifier.training.metrics import f1_binary, f1_macro, f1_weighted, roc_auc
from core.taxonomy import TOPICS

HIDDEN = 32
NGRAMS = NgramConfig(buckets=256)


def tiny_encoder(seed: int = 0) -> BertModel:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=50, hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )  # fmt: skip
    return BertModel(config, add_pooling_layer=False).eval()


def tiny_model(encoder: BertModel | None = None) -> MultiHeadModel:
    torch.manual_seed(1)
    model = MultiHeadModel(HeadsConfig(version="t", hidden_size=HIDDEN, ngram=NGRAMS), encoder)
    with torch.no_grad():
        for p in model.parameters():
            if not any(p is q for q in (encoder.parameters() if encoder else ())):
                p.normal_(0, 0.5)
    return model.eval()


def _inputs(n: int = 3) -> dict:
    ids = torch.randint(5, 50, (n, 7))
    mask = torch.ones_like(ids)
    mask[0, 5:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def _bag(n: int = 3):
    texts = ["học sinh giỏi", "hoc sinh gioi", "bão lũ"][:n]
    return ngram_batch(texts, NGRAMS, np.ones(NGRAMS.buckets, dtype=np.float32))


def test_forward_gives_one_logit_tensor_per_head() -> None:
    # given
    model = tiny_model(tiny_encoder())
    # when
    out = model(**_inputs(), ngrams=_bag())
    # then
    assert out["relevance"].shape == (3,)
    assert out["topics"].shape == (3, len(TOPICS))
    assert out["sentiment"].shape == (3, 3)
    assert out["risk"].shape == (3, 3)
    assert out["toxicity"].shape == (3,)
    assert out["misinformation"].shape == (3,)
    probs = model.probabilities(out)
    assert torch.allclose(probs["sentiment"].sum(-1), torch.ones(3))
    assert ((probs["topics"] >= 0) & (probs["topics"] <= 1)).all()


def test_frozen_mode_on_pooled_embeddings_matches_the_encoder_pass() -> None:
    encoder = tiny_encoder()
    model = tiny_model(encoder)
    inputs = _inputs()
    with torch.no_grad():
        pooled = model.pool(**inputs)
        frozen = MultiHeadModel(model.config)
        frozen.load_state_dict(model.head_state())
        frozen.eval()
        a = model(**inputs, ngrams=_bag())
        b = frozen(pooled=pooled, ngrams=_bag())
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name
    with pytest.raises(RuntimeError, match="no encoder"):
        frozen(**inputs)


def test_engagement_is_optional_for_misinformation() -> None:
    model = tiny_model()
    pooled = torch.nn.functional.normalize(torch.randn(2, HIDDEN), dim=-1)
    none = model(pooled=pooled, heads=["misinformation"])["misinformation"]
    zeros = model(pooled=pooled, extras={"misinformation": torch.zeros(2, 4)})["misinformation"]
    given = torch.tensor([engagement_vector(500, 20, 3), engagement_vector()])
    some = model(pooled=pooled, extras={"misinformation": given})["misinformation"]
    assert torch.allclose(none, zeros)
    assert not torch.allclose(some[0], zeros[0])
    assert torch.allclose(some[1], zeros[1])  # unknown engagement reads as zeros


def test_save_and_load_round_trip_keeps_outputs_and_stays_small(tmp_path: Path) -> None:
    # given
    encoder = tiny_encoder()
    model = tiny_model(encoder)
    model.config.temperatures = {"sentiment": 1.7}
    model.config.thresholds = {"topics": 0.4, "relevance": 0.3}
    # when
    model.save_pretrained(tmp_path)
    loaded = MultiHeadModel.from_pretrained(tmp_path, encoder=tiny_encoder())
    # then
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted([CONFIG_FILE, WEIGHTS_FILE])  # the encoder is never written
    # heads fp32 (~(32 + 4) x 25 floats) + fp16 bag (256 x 25) + buffers: a few KB
    assert (tmp_path / WEIGHTS_FILE).stat().st_size < 30_000
    inputs = _inputs()
    with torch.no_grad():
        a, b = model(**inputs, ngrams=_bag()), loaded(**inputs, ngrams=_bag())
    for name in a:
        # the n-gram bag is stored in fp16
        assert torch.allclose(a[name], b[name], atol=2e-2), name
    assert loaded.config.temperatures == {"sentiment": 1.7}
    assert loaded.config.thresholds["topics"] == 0.4
    assert loaded.config.heads == model.config.heads


def test_fine_tuned_encoder_tensors_travel_as_a_delta(tmp_path: Path) -> None:
    tuned = tiny_encoder()
    with torch.no_grad():
        tuned.encoder.layer[1].output.dense.weight.add_(0.3)
    model = tiny_model(tuned)
    names = [n for n, _ in tuned.named_parameters() if n.startswith("encoder.layer.1.")]
    model.save_pretrained(tmp_path, encoder_params=names)
    assert (tmp_path / ENCODER_DELTA_FILE).is_file()
    # when: loaded onto a freshly built base encoder
    loaded = MultiHeadModel.from_pretrained(tmp_path, encoder=tiny_encoder())
    # then
    assert loaded.encoder is not None
    got = loaded.encoder.encoder.layer[1].output.dense.weight
    assert torch.equal(got, tuned.encoder.layer[1].output.dense.weight)


def test_temperature_scaling_recovers_overconfidence() -> None:
    # given: labels drawn from sigmoid(z), logits reported as 3z (overconfident)
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20_000)
    y = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(np.float32)
    # when
    t = fit_temperature(3 * z, y, "binary")
    # then
    assert t == pytest.approx(3.0, rel=0.08)
    zm = rng.normal(0, 2, (5000, 3))
    pm = np.exp(zm) / np.exp(zm).sum(1, keepdims=True)
    ym = np.array([rng.choice(3, p=row) for row in pm])
    assert fit_temperature(0.5 * zm, ym, "multiclass") == pytest.approx(0.5, rel=0.1)


def test_decide_topics_takes_top_one_then_threshold_then_cap() -> None:
    probs = np.array([[0.1, 0.2, 0.05, 0.0], [0.9, 0.8, 0.7, 0.6], [0.3, 0.6, 0.1, 0.0]])
    out = decide_topics(probs, threshold=0.5, max_topics=3)
    assert out.tolist() == [[0, 1, 0, 0], [1, 1, 1, 0], [0, 1, 0, 0]]


def test_hashed_ngrams_ignore_diacritics() -> None:
    assert ngram_counts("Học sinh giỏi", NGRAMS) == ngram_counts("hoc sinh gioi", NGRAMS)
    assert len(ngram_counts("a b c", NgramConfig(buckets=1 << 20))) == 5  # 3 words + 2 pairs
    bag = _bag()
    assert bag.rows([1]).ids.tolist() == bag.rows([0]).ids.tolist()


def test_metrics_on_hand_checked_cases() -> None:
    y = np.array([1, 1, 0, 0, 1])
    assert f1_binary(y, np.array([1, 0, 0, 1, 1])) == pytest.approx(2 / 3)
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    yc, pc = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])
    assert f1_macro(yc, pc, 3) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert f1_weighted(yc, pc, 3) == pytest.approx((2 * 2 / 3 + 2 / 3 + 1) / 4)
