"""Cached lower layers + trained top layers, and the distilled student, on the tiny encoder.

The tiny encoder (tests.classifier.test_train) is a random 4-layer BertModel here: the cache
must give exactly what the full forward gives, a training run must stop on its step budget
and resume from its checkpoint to the same weights as an uninterrupted run, and a student
saved from it must load, export to int8 ONNX and serve beside the teacher.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from transformers import BertConfig, BertModel

from classifier.encoder import load_encoder
from classifier.features import encoder_fingerprint
from classifier.heads import HeadsConfig, MultiHeadModel
from classifier.service import TrainedClassifier
from classifier.student import apply_student, matching_student, read_student, teacher_tag
from classifier.training.distill import agreement, check, decisions, save_student
from classifier.training.layer_cache import build_layer_cache, pooled_of
from classifier.training.top_layers import (
    CachedTask,
    TopArgs,
    TopModel,
    bucketed_batches,
    distill_loss,
    finish,
    label_loss,
    make_trainable,
    train_top,
)
from classifier.training.train import train
from core.settings import Settings
from tests.classifier.test_train import (
    EDU,
    OTHER,
    tiny_args,
    write_tiny_corpus,
    write_tiny_encoder,
)

TEXTS = [f"{t} {w}" for t in EDU + OTHER for w in ("hôm nay", "ngày mai", "")]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny corpus, a 4-layer tiny encoder, and a tiny frozen artefact on it."""
    root = tmp_path_factory.mktemp("tiny-top")
    write_tiny_corpus(root / "data")
    write_tiny_encoder(root / "encoder")
    config = BertConfig.from_pretrained(str(root / "encoder"))
    config.num_hidden_layers = 4
    torch.manual_seed(1)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(root / "encoder"))
    train(tiny_args(root, compare_variants=False, version="tiny-top", output_dir=root / "art"))
    return root


def _cache(root: Path, layer: int = 2):  # type: ignore[no-untyped-def]
    encoder, tok = load_encoder(root / "encoder")
    cache = build_layer_cache(
        encoder, tok, TEXTS, root / "cache", layer=layer, max_length=32, batch_size=8
    )
    assert cache is not None
    return encoder, tok, cache


def test_cached_hidden_states_give_the_full_forward_pass(root: Path) -> None:
    # given a cache of layer 2 of 4
    encoder, tok, cache = _cache(root)
    # when the top two layers run from the cache
    heads = MultiHeadModel(HeadsConfig(hidden_size=32, ngram=None))
    top = TopModel(encoder, 2, heads).eval()
    idx = np.array([0, 5, 17])
    hidden, mask = cache.batch(idx)
    with torch.inference_mode():
        got = top.pool(hidden, mask)
        enc = tok(
            ["passage: " + TEXTS[i] for i in idx],
            padding=True,
            truncation=True,
            max_length=32,
            return_tensors="pt",
        )
        ref = pooled_of(encoder(**enc).last_hidden_state, enc["attention_mask"])
    # then: the same vectors (fp16 cache), and the stored teacher pooled vectors too
    assert len(cache) == len(TEXTS)
    assert torch.allclose(got, ref, atol=2e-3)
    assert np.allclose(cache.pooled[idx], ref.numpy(), atol=1e-5)


def test_batches_are_length_bucketed_and_cover_every_row() -> None:
    lengths = np.random.default_rng(0).integers(5, 128, size=1000)
    batches = bucketed_batches(lengths, 32, np.random.default_rng(1), spread=10)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 0.3 * np.ptp(lengths)  # a random split would span ~the whole range


def _label_top(root: Path, lora_rank: int) -> tuple[TopModel, list[CachedTask]]:
    encoder, _tok, cache = _cache(root)
    heads = MultiHeadModel.from_pretrained(root / "art")
    top = TopModel(encoder, 2, heads)
    torch.manual_seed(0)  # the same LoRA initialisation in every copy
    make_trainable(top, lora_rank)
    y = np.array([float(i < 3 * len(EDU)) for i in range(len(TEXTS))], dtype=np.float32)
    task = CachedTask("relevance", cache, np.arange(len(TEXTS)), {"relevance": y}, texts=TEXTS)
    return top, [task]


@pytest.mark.parametrize("lora_rank", [0, 4])
def test_a_run_stopped_early_resumes_from_its_checkpoint_like_an_unbroken_one(
    root: Path, lora_rank: int
) -> None:
    # given the same task trained 6 steps straight, and 2 + 4 steps through a checkpoint
    ckpt = root / f"ckpt-{lora_rank}.pt"
    base = dict(batch_size=8, epochs=2, max_steps=6, seed=3, lr=1e-3)
    straight, tasks = _label_top(root, lora_rank)
    start = {k: v.clone() for k, v in straight.state_dict().items()}
    full = train_top(straight, tasks, TopArgs(**base), label_loss)
    first, tasks = _label_top(root, lora_rank)
    part = train_top(first, tasks, TopArgs(checkpoint=ckpt, steps_this_call=2, **base), label_loss)
    # then the first call stopped after 2 steps and saved where it was
    assert (part.step, part.done, ckpt.is_file()) == (2, False, True)
    # when a fresh model resumes from the checkpoint
    again, tasks = _label_top(root, lora_rank)
    rest = train_top(again, tasks, TopArgs(checkpoint=ckpt, **base), label_loss)
    # then it finishes the plan on the same weights as the unbroken run
    assert rest.done and rest.step == 6 and len(rest.losses) == 4 and full.done
    trained = {n for n, p in straight.named_parameters() if p.requires_grad}
    assert any(n.startswith("encoder.") for n in trained)
    assert any(n.endswith(".lora_a") for n in trained) == (lora_rank > 0)
    ref, got = straight.state_dict(), again.state_dict()
    for name in trained:
        assert torch.allclose(ref[name], got[name], atol=1e-6), name
    assert any(not torch.equal(ref[n], start[n]) for n in trained if n.startswith("encoder."))
    if lora_rank:
        # merged back into plain layers, the updates named as the full encoder names them
        saved = finish(again)
        assert saved and all(k.startswith("encoder.layer.2.") or k.startswith("encoder.layer.3.")
                             for k in saved)  # fmt: skip
        assert not any(".lora_" in k for k in again.state_dict())


def _student(root: Path, out: Path, steps: int = 8) -> tuple[TopModel, dict[str, Any]]:
    """A 2-layer student of the tiny 4-layer encoder: layer 0 frozen, layer 1 distilled."""
    encoder, tok = load_encoder(root / "encoder")
    teacher = MultiHeadModel.from_pretrained(root / "art", encoder=encoder)
    cache = build_layer_cache(
        encoder, tok, TEXTS, root / "cache", layer=1, max_length=32, batch_size=8
    )
    assert cache is not None
    heads = MultiHeadModel.from_pretrained(root / "art")
    for p in heads.parameters():
        p.requires_grad = False
    top = TopModel(encoder, 1, heads, stop=2)
    make_trainable(top, 0)
    task = CachedTask("distill", cache, np.arange(len(TEXTS) - 6))
    args = TopArgs(batch_size=8, epochs=5, max_steps=steps, lr=1e-3)
    report = train_top(top, [task], args, distill_loss)
    held_out = check(top, cache, np.arange(len(TEXTS) - 6, len(TEXTS)), TEXTS)
    tag = teacher_tag(root / "art", encoder_fingerprint(root / "encoder"))
    assert teacher.config.version == "tiny-top" and report.done
    save_student(top, out, {"layers": 2, "split": 1, "teacher": tag, "held_out": held_out})
    return top, held_out


def test_a_distilled_student_reports_agreement_and_rebuilds_from_its_files(root: Path) -> None:
    # given a student distilled for a few steps
    top, held_out = _student(root, root / "student")
    # then the held-out check says how close it is, per head, on rows it never saw
    assert held_out["rows"] == 6
    assert -1.0 <= held_out["cosine_min"] <= held_out["cosine_mean"] <= 1.0
    assert set(held_out["agreement"]) == {
        "relevance", "topics", "sentiment", "risk", "toxicity", "misinformation"
    }  # fmt: skip
    assert all(0.0 <= v <= 1.0 for v in held_out["agreement"].values())
    # and the teacher agrees with itself everywhere (the measure is sound)
    pooled = torch.nn.functional.normalize(torch.randn(3, 32), dim=-1)
    same = decisions(top.heads, pooled, TEXTS[:3])
    assert agreement(same, same) == dict.fromkeys(same, 1.0)
    # when the student is rebuilt from its folder onto the adapted teacher encoder
    encoder, tok = load_encoder(root / "encoder")
    MultiHeadModel.from_pretrained(root / "art", encoder=encoder)
    apply_student(encoder, root / "student")
    # then it is the 2-layer stack that was trained (fp16 round trip)
    assert len(encoder.encoder.layer) == 2 and encoder.config.num_hidden_layers == 2
    enc = tok(["passage: " + TEXTS[3]], return_tensors="pt")
    with torch.inference_mode():
        want = pooled_of(encoder(**enc).last_hidden_state, enc["attention_mask"])
        h = encoder.embeddings(input_ids=enc["input_ids"])
        h = encoder.encoder.layer[0](h, None)
        got = top.pool(h, enc["attention_mask"])
    assert torch.allclose(want, got, atol=5e-3)
    assert read_student(root / "student")["layers"] == 2


def test_the_onnx_service_serves_a_matching_student_and_refuses_another_teachers(
    root: Path, tmp_path: Path
) -> None:
    # given the tiny artefact and a student distilled from its encoder
    _student(root, root / "served")
    art = root / "art"
    settings = Settings(
        environment="test",
        secret_key="test",
        data_dir=tmp_path / "var",
        classifier={"student": str(root / "served")},
    )
    fast = TrainedClassifier(art, settings, encoder_dir=root / "encoder", runtime="onnx")
    ref = TrainedClassifier(art, settings, encoder_dir=root / "encoder", runtime="torch")
    texts = ["Học sinh lớp 9 ôn thi vào lớp 10", "Giá vàng trong nước đi ngang", ""]
    # when both label the same texts
    a, b = ref.predict(texts), fast.predict(texts)
    # then the onnx path exported and runs the 2-layer student; torch stays the teacher
    assert fast.student == root / "served" and ref.student is None
    fast_file = tmp_path / "var" / "models" / "fast" / "tiny-top-served" / "encoder-int8.onnx"
    nodes = onnx.load(str(fast_file)).graph.node
    assert sum(n.name.endswith("/smooth_mul") for n in nodes) == 2  # one per layer
    assert len(b) == len(a) == 3 and b[2].relevance == 0.0
    assert all(0.0 <= p.relevance <= 1.0 for p in b)
    # and a student of another teacher: skipped under "auto", refused when named
    meta = json.loads((root / "served" / "student.json").read_text("utf-8"))
    meta["teacher"] = "0" * 16 + ":base"
    (root / "served" / "student.json").write_text(json.dumps(meta), "utf-8")
    with pytest.raises(ValueError, match="distilled from"):
        matching_student(str(root / "served"), art, encoder_fingerprint(root / "encoder"))
    assert matching_student("off", art, "x") is None


def test_the_service_defaults_to_the_fast_path_and_its_student(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given no runtime chosen (the test suite pins torch through the environment)
    monkeypatch.delenv("DIEMTIN_CLASSIFIER_RUNTIME", raising=False)
    monkeypatch.delenv("DIEMTIN_CLASSIFIER_STUDENT", raising=False)
    settings = Settings(environment="test", secret_key="test")
    # then the int8 fast path serves, with a matching student when there is one
    assert (settings.classifier.runtime, settings.classifier.student) == ("onnx", "auto")
