"""Why the fast path's int8 graph is built the way it is (classifier/fastpath.py).

Prints, on this machine:
1. ONNX Runtime's fused SkipLayerNormalization and BiasGelu against the plain ops they
   replace, each timed alone on one batch's shapes (32 x 128 tokens);
2. the encoder graph alone (batch 32 x 128 token ids), docs/s, built as now and built with
   the optimiser's default fusions (the previous build), alternating;
3. with --alphas: for each SmoothQuant alpha, a fresh int8 build and the cosine of its pooled
   vectors to the fp32 graph's on training texts (UIT-VSFC and ReINTEL train rows from
   ../shared/data; our calibration sentences when it is absent).

    python bench/fastpath_ops.py [--rounds 3] [--alphas 0.6,0.7,0.8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKENS, BATCH, HIDDEN, FFN = 32 * 128, 32, 384, 1536


def _session(model: Any, threads: int = 2, disabled: tuple[str, ...] = ()) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        model, options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled)
    )


def _op_graph(nodes: list[Any], inputs: dict[str, int], out: int, consts: dict[str, int]) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes,
        "op",
        [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, [TOKENS, w])
            for n, w in inputs.items()
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [TOKENS, out])],
        [numpy_helper.from_array(np.full(w, 0.5, np.float32), n) for n, w in consts.items()],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9  # what this onnxruntime reads
    return bytes(model.SerializeToString())


def op_timings(rounds: int) -> None:
    """Fused kernels against their plain equivalents, ms per call."""
    from onnx import helper

    def node(op: str, ins: list[str], out: str, **kw: Any) -> Any:
        return helper.make_node(op, ins, [out], **kw)

    ms = "com.microsoft"
    skip_in, skip_c = {"x": HIDDEN, "s": HIDDEN}, {"g": HIDDEN, "b": HIDDEN, "c": HIDDEN}
    cases = {
        "SkipLayerNormalization (fused)": _op_graph(
            [node("SkipLayerNormalization", ["x", "s", "g", "b", "c"], "y", domain=ms)],
            skip_in, HIDDEN, skip_c,
        ),
        "Add + Add + LayerNormalization": _op_graph(
            [
                node("Add", ["x", "s"], "t"),
                node("Add", ["t", "c"], "u"),
                node("LayerNormalization", ["u", "g", "b"], "y", axis=-1),
            ],
            skip_in, HIDDEN, skip_c,
        ),
        "BiasGelu (fused)": _op_graph(
            [node("BiasGelu", ["x", "c"], "y", domain=ms)], {"x": FFN}, FFN, {"c": FFN}
        ),
        "Add + Gelu": _op_graph(
            [node("Add", ["x", "c"], "t"), node("Gelu", ["t"], "y", domain=ms)],
            {"x": FFN}, FFN, {"c": FFN},
        ),
    }  # fmt: skip
    rng = np.random.default_rng(0)
    print(f"1. single ops on {TOKENS} tokens, 2 threads, ms per call (median of {rounds} x 20)")
    for name, model in cases.items():
        session = _session(model, disabled=("SkipLayerNormFusion", "BiasGeluFusion"))
        feeds = {
            i.name: rng.standard_normal(i.shape).astype(np.float32) for i in session.get_inputs()
        }
        session.run(None, feeds)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(20):
                session.run(None, feeds)
            times.append((time.perf_counter() - started) / 20 * 1000)
        print(f"   {name:32s} {np.median(times):6.2f} ms")


def encoder_alone(rounds: int) -> None:
    """docs/s of the int8 graph as built now and with the optimiser's default fusions."""
    from classifier.fastpath import SLOW_FUSIONS

    rng = np.random.default_rng(0)
    feeds = {
        "input_ids": rng.integers(5, 200_000, size=(BATCH, 128)).astype(np.int64),
        "attention_mask": np.ones((BATCH, 128), np.int64),
    }
    with tempfile.TemporaryDirectory() as tmp:
        plain = _build(Path(tmp), "plain.onnx", plain_norms=True)
        fused = _build(Path(tmp), "fused.onnx", plain_norms=False)
        variants = {
            "as built now (plain norms)": _session(str(plain), disabled=SLOW_FUSIONS),
            "fused SkipLayerNorm/BiasGelu": _session(str(fused)),
            "plain, session may fuse": _session(str(plain)),
        }
        rates: dict[str, list[float]] = {k: [] for k in variants}
        for session in variants.values():
            session.run(None, feeds)
        for _ in range(rounds):  # alternating, so all see the same neighbours
            for name, session in variants.items():
                started = time.perf_counter()
                for _ in range(4):
                    session.run(None, feeds)
                rates[name].append(4 * BATCH / (time.perf_counter() - started))
    print(f"2. encoder graph alone, batch {BATCH} x 128 ids, docs/s ({rounds} alternating rounds)")
    for name, got in rates.items():
        print(f"   {name:32s} median {np.median(got):6.1f} ({min(got):.1f}-{max(got):.1f})")


_STATE: dict[str, Any] = {}


def _encoder() -> tuple[Any, Any, Any]:
    """The served encoder (adapter applied), its tokenizer and the heads' config, once."""
    if not _STATE:
        from classifier.artefact import artefact_dir
        from classifier.encoder import load_encoder
        from classifier.encoder_install import ensure_encoder
        from classifier.heads import MultiHeadModel
        from core.settings import get_settings

        settings = get_settings()
        encoder, tokenizer = load_encoder(ensure_encoder(settings))
        heads = MultiHeadModel.from_pretrained(artefact_dir(settings), encoder=encoder)
        _STATE.update(encoder=encoder, tokenizer=tokenizer, config=heads.config)
    return _STATE["encoder"], _STATE["tokenizer"], _STATE["config"]


def _build(tmp: Path, name: str, **options: Any) -> Path:
    """An int8 build of the served encoder into tmp (one fp32 export, shared by the builds)."""
    from classifier.fastpath import calibration_batches, export_onnx, quantize

    encoder, tokenizer, config = _encoder()
    fp32 = tmp / "fp32.onnx"
    if not fp32.is_file():
        export_onnx(encoder, fp32)
    cfg = encoder.config
    batches = calibration_batches(tokenizer, config)
    out = tmp / name
    quantize(
        fp32, out, heads=cfg.num_attention_heads, hidden=cfg.hidden_size, batches=batches, **options
    )
    return out


def alpha_sweep(alphas: list[float]) -> None:
    """Cosine of each alpha's int8 pooled vectors to the fp32 graph's, on training texts."""
    from classifier.calibration import calibration_texts
    from classifier.fastpath import FastEncoder
    from classifier.normalize import prepare_text
    from core.settings import get_settings

    _, tokenizer, config = _encoder()
    texts = _training_texts(get_settings().shared_data_dir) or calibration_texts()
    texts = [config.prefix + prepare_text(t, config.max_chars) for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        builds = {a: _build(Path(tmp), f"int8-{a}.onnx", alpha=a) for a in alphas}
        ref = _pooled(_session(str(Path(tmp) / "fp32.onnx")), tokenizer, texts)
        print(f"3. SmoothQuant alpha: cosine to fp32 on {len(texts)} training texts")
        for alpha, out in builds.items():
            cos = (_pooled(FastEncoder(out).session, tokenizer, texts) * ref).sum(axis=1)
            print(f"   alpha {alpha:.2f}: mean {cos.mean():.5f}, min {cos.min():.5f}")


def _training_texts(data_dir: Path) -> list[str]:
    from classifier.training.datasets import misinformation, sentiment_vsfc

    try:
        return (
            sentiment_vsfc(data_dir, "train").texts[-160:]
            + misinformation(data_dir, "train").texts[-160:]
        )
    except FileNotFoundError:
        return []


def _pooled(session: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    out = []
    for i in range(0, len(texts), BATCH):
        enc = tokenizer(texts[i : i + BATCH], truncation=True, max_length=128, padding=True)
        feeds = {k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "attention_mask")}
        out.append(session.run(["pooled"], feeds)[0])
    return np.concatenate(out)


def main() -> int:
    """Print the three sections (the third only with --alphas)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--alphas", default="", help="comma-separated, e.g. 0.6,0.7,0.8")
    args = parser.parse_args()

    op_timings(args.rounds)
    encoder_alone(args.rounds)
    if args.alphas:
        alpha_sweep([float(a) for a in args.alphas.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
