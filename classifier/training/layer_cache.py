"""The frozen lower layers' outputs, computed once per training row and kept on disk.

A CPU cannot afford e5's 12-layer forward (and backward) on every step of every epoch, but
the lower layers of a fine-tuned encoder barely move (and here they are frozen): their output
for a row never changes, so it is computed once. Training then runs only the top layers
(classifier.training.top_layers) from the cached hidden states; a step costs (12 - layer) / 12
of a forward pass plus the backward of the same layers.

On disk: `parts/NNNNN-{hidden,lengths,pooled}.npy`, one part per `PART_ROWS` rows. Hidden
states are fp16 and unpadded ([tokens of the part, hidden]), ~0.75 KB a token; `pooled` is
the full encoder's L2-normalised mean-pooled output of the same row (a distillation target,
and what frozen heads were fitted on). A part is written under a temporary name and renamed,
so an interrupted build (the time budget, a killed session) resumes at the first missing part.
`meta.json` keys the cache: a different encoder, adapter, split layer, length or row list
means another folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from classifier.encoder import mean_pool

log = logging.getLogger(__name__)

FORMAT = "diemtin-layer-cache/1"
PART_ROWS = 256


def cache_key(
    texts: Sequence[str], *, layer: int, max_length: int, prefix: str, encoder_tag: str
) -> str:
    """Which rows, split layer, truncation and encoder weights a cache holds."""
    digest = hashlib.sha256()
    digest.update(json.dumps([FORMAT, layer, max_length, prefix, encoder_tag]).encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    return digest.hexdigest()[:16]


def attention_bias(config: Any, hidden: torch.Tensor, mask: torch.Tensor) -> Any:
    """The attention mask BertModel hands its layers (same helper, same implementation)."""
    return create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=mask)


def run_layers(
    layers: Sequence[nn.Module], config: Any, hidden: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """hidden -> the given BertLayers in order, as BertEncoder runs them."""
    bias = attention_bias(config, hidden, mask)
    for layer in layers:
        hidden = layer(hidden, bias)
    return hidden


def pooled_of(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L2-normalised mean pool (MultiHeadModel.pool's output)."""
    return nn.functional.normalize(mean_pool(hidden, mask), dim=-1)


@dataclass
class LayerCache:
    """A built cache: lengths, teacher pooled vectors, hidden states read part by part."""

    root: Path
    meta: dict[str, Any]
    lengths: np.ndarray
    pooled: np.ndarray
    _parts: list[np.ndarray]
    _where: np.ndarray  # row -> (part, first token in that part)

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def open(cls, root: Path) -> LayerCache:
        """Open a complete cache (memory-maps the hidden states)."""
        meta = json.loads((root / "meta.json").read_text("utf-8"))
        n_parts = -(-int(meta["rows"]) // PART_ROWS)
        parts, lengths, pooled, where = [], [], [], []
        for k in range(n_parts):
            stem = root / "parts" / f"{k:05d}"
            lens = np.load(f"{stem}-lengths.npy")
            starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
            where.append(np.stack([np.full(len(lens), k), starts], axis=1))
            parts.append(np.load(f"{stem}-hidden.npy", mmap_mode="r"))
            lengths.append(lens)
            pooled.append(np.load(f"{stem}-pooled.npy"))
        return cls(
            root,
            meta,
            np.concatenate(lengths).astype(np.int64),
            np.concatenate(pooled).astype(np.float32),
            parts,
            np.concatenate(where).astype(np.int64),
        )

    def batch(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden [b, longest, h] float32, attention mask [b, longest]) for rows idx."""
        lens = self.lengths[np.asarray(idx)]
        longest = int(lens.max())
        hidden = np.zeros((len(idx), longest, int(self.meta["hidden"])), dtype=np.float32)
        mask = np.zeros((len(idx), longest), dtype=np.int64)
        for r, i in enumerate(idx):
            part, start = self._where[i]
            hidden[r, : lens[r]] = self._parts[part][start : start + lens[r]]
            mask[r, : lens[r]] = 1
        return torch.from_numpy(hidden), torch.from_numpy(mask)


def _missing_parts(root: Path, n_parts: int) -> list[int]:
    return [k for k in range(n_parts) if not (root / "parts" / f"{k:05d}-pooled.npy").is_file()]


def build_layer_cache(
    encoder: Any,
    tokenizer: Any,
    texts: Sequence[str],
    out_dir: Path,
    *,
    layer: int,
    max_length: int = 128,
    prefix: str = "passage: ",
    encoder_tag: str = "",
    batch_size: int = 32,
    time_budget_s: float = 0.0,
) -> LayerCache | None:
    """Run `encoder` over texts; keep layer `layer`'s output and the pooled output per row.

    Returns the cache once complete; None when the time budget ran out first (call again to
    resume). `encoder` is a BertModel already carrying any adapter (its layers frozen here).
    """
    n_layers = len(encoder.encoder.layer)
    if not 0 < layer <= n_layers:
        raise ValueError(f"split layer {layer} outside 1..{n_layers}")
    key = cache_key(
        texts, layer=layer, max_length=max_length, prefix=prefix, encoder_tag=encoder_tag
    )
    root = Path(out_dir) / key
    n_parts = -(-len(texts) // PART_ROWS)
    (root / "parts").mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT,
        "key": key,
        "rows": len(texts),
        "layer": layer,
        "layers": n_layers,
        "hidden": int(encoder.config.hidden_size),
        "max_length": max_length,
        "prefix": prefix,
        "encoder_tag": encoder_tag,
    }
    started = time.perf_counter()
    encoder.eval()
    lower, upper = list(encoder.encoder.layer[:layer]), list(encoder.encoder.layer[layer:])
    for k in _missing_parts(root, n_parts):
        if time_budget_s and time.perf_counter() - started > time_budget_s:
            log.info("layer cache %s: time budget spent at part %d/%d", key, k, n_parts)
            return None
        chunk = [prefix + t for t in texts[k * PART_ROWS : (k + 1) * PART_ROWS]]
        hidden_rows: list[np.ndarray] = []
        pooled_rows: list[np.ndarray] = []
        for s in range(0, len(chunk), batch_size):
            enc = tokenizer(
                chunk[s : s + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            mask = enc["attention_mask"]
            with torch.inference_mode():
                h = encoder.embeddings(input_ids=enc["input_ids"])
                h = run_layers(lower, encoder.config, h, mask)
                cut = h
                h = run_layers(upper, encoder.config, h, mask)
                pooled_rows.append(pooled_of(h, mask).float().numpy())
            for r, n in enumerate(mask.sum(dim=1).tolist()):
                hidden_rows.append(cut[r, :n].to(torch.float16).numpy())
        stem = root / "parts" / f"{k:05d}"
        np.save(f"{stem}-lengths.npy", np.array([len(h) for h in hidden_rows], dtype=np.int32))
        np.save(f"{stem}-hidden.npy", np.concatenate(hidden_rows))
        # Written last, under a temporary name: its presence marks the part complete.
        tmp = Path(f"{stem}-pooled.tmp.npy")
        np.save(tmp, np.concatenate(pooled_rows))
        tmp.rename(f"{stem}-pooled.npy")
    meta["build_s"] = round(time.perf_counter() - started, 1)
    if not (root / "meta.json").is_file():
        (root / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    return LayerCache.open(root)
