"""The int8 ONNX fast path on the tiny encoder: built once and cached, close to the reference
encoder, and behind the same service API (the real encoder's speed and label agreement are
measured by bench/classifier_speed.py)."""

from __future__ import annotations

import resource
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from classifier.calibration import SENTENCES, calibration_texts
from classifier.encoder import load_encoder, mean_pool
from classifier.fastpath import (
    FastEncoder,
    build_fast_encoder,
    cached_fast_file,
    calibration_batches,
    export_onnx,
    fast_key,
    ffn_down_amax,
    smooth_ffn_down,
)
from classifier.heads import HeadsConfig
from classifier.service import TrainedClassifier
from classifier.training.train import train
from core.settings import Settings
from tests.classifier.test_train import tiny_args, write_tiny_corpus, write_tiny_encoder

pytest.importorskip("onnxruntime", reason="onnxruntime is a declared dependency (make install)")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-fast")
    write_tiny_corpus(root / "data")
    write_tiny_encoder(root / "encoder")
    return root


def build(root: Path, name: str, key: str) -> tuple[Path, Any, Any]:
    """The tiny encoder's int8 build (calibrated on classifier.calibration's sentences)."""
    encoder, tok = load_encoder(root / "encoder")
    batches = calibration_batches(tok, HeadsConfig(max_length=64))
    return build_fast_encoder(encoder, root / name, key, batches), encoder, tok


def test_fast_encoder_matches_the_reference_pooled_vectors(tiny_root: Path) -> None:
    # given the tiny encoder and its int8 export
    out, encoder, tok = build(tiny_root, "fast", "k1")
    fast = FastEncoder(out, threads=1)
    texts = ["học sinh giỏi được khen thưởng", "giáo viên", "trường học an toàn " * 20]
    enc = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    # when
    got = fast.pooled(enc["input_ids"].numpy(), enc["attention_mask"].numpy())
    with torch.inference_mode():
        hidden = encoder(**enc).last_hidden_state
        ref = torch.nn.functional.normalize(mean_pool(hidden, enc["attention_mask"])).numpy()
    # then: unit vectors pointing the same way (padding does not leak into the mean)
    assert got.shape == ref.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    assert float((got * ref).sum(axis=1).min()) > 0.98


def test_fast_build_is_cached_by_key(tiny_root: Path) -> None:
    out_dir = tiny_root / "cached"
    build(tiny_root, "cached", "key-a")
    assert cached_fast_file(out_dir, "key-a") is not None
    assert cached_fast_file(out_dir, "key-b") is None  # another encoder/adapter: rebuild
    (out_dir / "fast.json").write_text("{not json")
    assert cached_fast_file(out_dir, "key-a") is None


def test_service_with_the_onnx_runtime_agrees_with_torch(tiny_root: Path) -> None:
    # given one tiny artefact served by both runtimes
    artefact = train(tiny_args(tiny_root, compare_variants=False, version="tiny-fast"))
    settings = Settings(environment="test", secret_key="test", data_dir=tiny_root / "var")
    ref = TrainedClassifier(artefact, settings, encoder_dir=tiny_root / "encoder", runtime="torch")
    fast = TrainedClassifier(artefact, settings, encoder_dir=tiny_root / "encoder", runtime="onnx")
    texts = ["Học sinh bị bạo lực học đường", "", "trường tổ chức khai giảng năm học mới"]
    # when
    a, b = ref.predict(texts), fast.predict(texts)
    # then: same shape of answer, close probabilities, the build cached under data_dir
    assert [p.model_version for p in b] == [p.model_version for p in a]
    for pa, pb in zip(a, b, strict=True):
        assert abs(pa.relevance - pb.relevance) < 0.1
        assert pb.sentiment in ("tieu_cuc", "trung_tinh", "tich_cuc")
    assert cached_fast_file(
        settings.data_dir / "models" / "fast" / "tiny-fast",
        fast_key(tiny_root / "encoder", artefact),
    )
    with pytest.raises(ValueError, match="runtime"):
        TrainedClassifier(artefact, settings, runtime="tensorflow")


def test_service_runs_on_the_configured_number_of_threads(tiny_root: Path) -> None:
    # given a host that runs several classify processes, each told to use one core
    artefact = train(tiny_args(tiny_root, compare_variants=False, version="tiny-fast"))
    settings = Settings(
        environment="test", secret_key="test", data_dir=tiny_root / "var", classifier={"threads": 1}
    )
    before = torch.get_num_threads()
    try:
        fast = TrainedClassifier(
            artefact, settings, encoder_dir=tiny_root / "encoder", runtime="onnx"
        )
        # when it labels
        fast.predict(["giáo viên dạy thêm"])
        # then both the int8 session and torch (the heads) keep to one thread
        assert fast._fast.session.get_session_options().intra_op_num_threads == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match=r"classifier\.threads"):
        Settings(environment="test", secret_key="test", classifier={"threads": -1})


def test_every_matmul_with_weights_is_int8_and_the_ffn_down_inputs_are_smoothed(
    tiny_root: Path,
) -> None:
    import onnx

    out, encoder, _ = build(tiny_root, "mixed", "k-mixed")
    nodes = onnx.load(str(out)).graph.node
    layers = encoder.config.num_hidden_layers
    # FFN down-projections: int8 behind one per-channel Mul each
    assert sum(n.name.endswith("/smooth_mul") for n in nodes) == layers
    float_down = [n for n in nodes if n.op_type == "MatMul" and "/output/dense/" in n.name]
    assert float_down == []
    assert any(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for n in nodes)


def test_smoothing_leaves_the_fp32_graph_unchanged_and_tames_outlier_channels(
    tiny_root: Path, tmp_path: Path
) -> None:
    import onnxruntime as ort

    # given the tiny encoder's fp32 export, with one FFN input channel 50x the others
    encoder, tok = load_encoder(tiny_root / "encoder")
    with torch.no_grad():
        encoder.encoder.layer[0].intermediate.dense.bias[3] += 50.0
    fp32 = export_onnx(encoder, tmp_path / "fp32.onnx")
    batches = calibration_batches(tok, HeadsConfig(max_length=64))
    # when
    smooth = smooth_ffn_down(fp32, tmp_path / "smooth.onnx", batches)

    # then: the same vectors in fp32 (the scaling cancels out)...
    def run(path: Path) -> np.ndarray:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.concatenate([session.run(["pooled"], b)[0] for b in batches])

    assert np.allclose(run(fp32), run(smooth), atol=1e-4)
    # ...and the outlier no longer sets the range int8 activations must cover
    before = ffn_down_amax(fp32, batches)[0]
    after = ffn_down_amax(smooth, batches)[0]  # what the int8 MatMul now reads
    assert before[3] > 20 * np.median(before)
    assert after[3] / np.median(after) < before[3] / np.median(before) / 5


def test_calibration_texts_are_ours_and_cover_unaccented_and_long_input() -> None:
    texts = calibration_texts()
    assert set(SENTENCES) <= set(texts)
    assert any(t.isascii() and "truong" in t for t in texts)  # typed without diacritics
    assert max(len(t) for t in texts) > 2000  # fills the 128-token window


def test_the_session_runs_plain_layer_norms_and_gelus(tiny_root: Path, tmp_path: Path) -> None:
    import onnx

    # given the int8 build, loaded the way the service loads it
    out, _, _ = build(tiny_root, "plain", "k-plain")
    FastEncoder(out, threads=1, dump_to=tmp_path / "as-run.onnx")
    # then: ONNX Runtime's fused SkipLayerNormalization/BiasGelu (slow on CPU) are not used
    ops = {n.op_type for n in onnx.load(str(tmp_path / "as-run.onnx")).graph.node}
    assert "LayerNormalization" in ops
    assert not ops & {"SkipLayerNormalization", "BiasGelu", "SkipSimplifiedLayerNormalization"}


def test_export_uses_eager_attention_and_leaves_the_encoder_as_it_was(tiny_root: Path) -> None:
    import onnx

    encoder, tok = load_encoder(tiny_root / "encoder")
    before = encoder.config._attn_implementation
    batches = calibration_batches(tok, HeadsConfig(max_length=64))
    out = build_fast_encoder(encoder, tiny_root / "eager", "k-eager", batches)
    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    # SDPA's export guards each layer's masked softmax with IsNaN/Where: slow on CPU
    assert "IsNaN" not in ops
    assert encoder.config._attn_implementation == before


def test_workers_starting_together_build_the_fast_encoder_once(
    tiny_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a trained tiny artefact and an empty data dir
    artefact = train(tiny_args(tiny_root, compare_variants=False, version="tiny-once"))
    settings = Settings(environment="test", secret_key="test", data_dir=tmp_path / "var")
    builds: list[str] = []
    real_build = TrainedClassifier._build_fast

    def counted(self: TrainedClassifier, *args: Any, **kwargs: Any) -> None:
        builds.append(threading.current_thread().name)
        real_build(self, *args, **kwargs)

    monkeypatch.setattr(TrainedClassifier, "_build_fast", counted)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    clfs = [
        TrainedClassifier(artefact, settings, encoder_dir=tiny_root / "encoder", runtime="onnx")
        for _ in range(3)
    ]
    errors: list[BaseException] = []

    def load(clf: TrainedClassifier) -> None:
        try:
            clf.load()
        except BaseException as exc:  # reported below
            errors.append(exc)

    # when three load at once
    threads = [threading.Thread(target=load, args=(c,)) for c in clfs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then: one build, and all three classify the same way
    assert errors == []
    assert len(builds) == 1
    # in a child process (its GBs of build memory are not left in the worker)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert after.ru_utime + after.ru_stime > children.ru_utime + children.ru_stime
    answers = [c.predict(["học sinh đi học"])[0].relevance for c in clfs]
    assert answers == [answers[0]] * 3
