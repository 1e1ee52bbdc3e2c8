"""`python bench/finetune_speed.py --cached`: what the cached-layers CPU recipe costs and gains.

See bench/finetune_speed.py's docstring for the flags. The slices are fixed (seeded), so
runs on different days compare; the figures are for this machine at its current load, which
is printed first.
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.artefact import MODELS_DIR
from classifier.encoder import load_encoder
from classifier.encoder_install import ensure_encoder
from classifier.features import encoder_fingerprint, ngram_batch
from classifier.heads import MultiHeadModel
from classifier.normalize import model_input
from classifier.student import teacher_tag
from classifier.training.datasets import read_rows, relevance
from classifier.training.evaluate import binary_report, probs_of
from classifier.training.layer_cache import LayerCache, build_layer_cache
from classifier.training.top_layers import (
    CachedTask,
    TopArgs,
    TopModel,
    label_loss,
    make_trainable,
    train_top,
)
from core.settings import get_settings

SEED = 7


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        line = next(x for x in fh if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _balanced(texts: list[str], y: np.ndarray, n: int) -> tuple[list[str], np.ndarray]:
    """n rows, half positive (as far as there are), in a fixed order."""
    rng = np.random.default_rng(SEED)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    take = np.concatenate(
        [rng.permutation(pos)[: n // 2], rng.permutation(neg)[: n - min(n // 2, len(pos))]]
    )
    take = rng.permutation(take)
    return [texts[i] for i in take], y[take].astype(np.float32)


def _press_dev(data_dir: Path, n: int) -> tuple[list[str], np.ndarray] | None:
    """The press office's edu-relevance dev rows (first n), when present."""
    try:
        rows = read_rows(data_dir, "edu-relevance", "dev")[:n]
    except FileNotFoundError:
        return None
    texts = [model_input(r["title"], r["sapo"], None, 2000) for r in rows]
    return texts, np.array([float(r["relevant"]) for r in rows], dtype=np.float32)


def _score(top: TopModel, cache: LayerCache, texts: list[str], y: np.ndarray) -> dict[str, Any]:
    """Relevance F1 at the artefact's threshold and ROC-AUC, through the top layers."""
    task = CachedTask("dev", cache, np.arange(len(texts)), {"relevance": y}, texts=texts)
    heads = top.heads
    z = []
    top.eval()
    with torch.inference_mode():
        for s in range(0, len(texts), 64):
            idx = task.rows[s : s + 64]
            hidden, mask = cache.batch(idx)
            bag = None
            if heads.config.ngram is not None:
                bag = ngram_batch([texts[i] for i in idx], heads.config.ngram, heads.idf.numpy())
            z.append(
                heads(pooled=top.pool(hidden, mask), ngrams=bag, heads=["relevance"])["relevance"]
            )
    cfg = heads.config
    p = probs_of(torch.cat(z).numpy(), "binary", cfg.temperatures.get("relevance", 1.0))
    rep = binary_report(y, p, cfg.thresholds.get("relevance") or 0.5)
    return {"f1": 100 * rep["f1"], "auc": rep["roc_auc"]}


def _heads_only(top: TopModel) -> TopModel:
    """Frozen mode: no encoder tensor trains (the heads alone)."""
    for p in top.encoder.parameters():
        p.requires_grad = False
    for p in top.heads.parameters():
        p.requires_grad = True
    return top


def run_cached(opts: argparse.Namespace) -> int:
    """Build the caches, train each variant, print costs and gains."""
    settings = get_settings()
    data_dir = settings.shared_data_dir
    print(
        f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs;"
        f" torch threads {torch.get_num_threads()}"
    )
    artefact = MODELS_DIR / opts.version
    started = time.perf_counter()
    where = ensure_encoder(settings)
    encoder, tok = load_encoder(where)
    teacher = MultiHeadModel.from_pretrained(artefact, encoder=encoder)  # adapter applied
    cfg = teacher.config
    tag = teacher_tag(artefact, encoder_fingerprint(where))
    train = relevance(data_dir, "train")
    train_texts, train_y = _balanced(train.texts, train.labels, opts.train_rows)
    dev = relevance(data_dir, "dev")
    devs = {"baomoi dev": _balanced(dev.texts, dev.labels, opts.dev_rows)}
    press = _press_dev(data_dir, opts.dev_rows)
    if press is not None:
        devs["edu-relevance dev"] = press
    print(f"encoder + artefact loaded in {time.perf_counter() - started:.0f} s")
    work = settings.data_dir / "classifier" / "bench-cache"
    caches: dict[str, LayerCache] = {}
    for name, texts in [("train", train_texts), *((k, v[0]) for k, v in devs.items())]:
        t0 = time.perf_counter()
        cache = build_layer_cache(
            encoder, tok, texts, work, layer=opts.split, max_length=opts.max_length,
            prefix=cfg.prefix, encoder_tag=tag,
        )  # fmt: skip
        assert cache is not None
        spent = time.perf_counter() - t0
        mb = sum(p.nbytes for p in cache._parts) / 2**20
        print(
            f"cache {name}: {len(texts)} rows, layer {opts.split} of {cache.meta['layers']},"
            f" {spent:.0f} s here ({len(texts) / max(spent, 1e-9):.1f} rows/s; built earlier:"
            f" {cache.meta.get('build_s')} s), {mb:.0f} MB on disk"
        )
        caches[name] = cache
    base = MultiHeadModel.from_pretrained(artefact)
    ref = TopModel(encoder, opts.split, copy.deepcopy(base))
    before = {k: _score(ref, caches[k], v[0], v[1]) for k, v in devs.items()}
    line = "; ".join(f"{k} F1 {m['f1']:.1f} AUC {m['auc']:.3f}" for k, m in before.items())
    print(f"before training (the artefact as is): {line}")
    print(f"{'variant':8} {'trained':>10} {'s/step':>7} {'rows/s':>7} {'RSS MB':>7}  dev after")
    for variant in opts.variants.split(","):
        top = TopModel(encoder, opts.split, copy.deepcopy(base))
        if variant == "heads":
            _heads_only(top)
        else:
            make_trainable(top, 16 if variant == "lora" else 0)
        n_trained = sum(p.numel() for p in top.encoder.parameters() if p.requires_grad)
        task = CachedTask("relevance", caches["train"], np.arange(len(train_texts)),
                          {"relevance": train_y}, texts=train_texts,
                          use_pooled=variant == "heads")  # fmt: skip
        lr = 1e-4 if variant == "full" else 5e-4
        args = TopArgs(lr=lr, head_lr=1e-3, batch_size=opts.batch_size, epochs=100,
                       max_steps=opts.steps, seed=SEED)  # fmt: skip
        report = train_top(top, [task], args, label_loss)
        after = {k: _score(top, caches[k], v[0], v[1]) for k, v in devs.items()}
        line = "; ".join(f"{k} F1 {m['f1']:.1f} AUC {m['auc']:.3f}" for k, m in after.items())
        print(
            f"{variant:8} {n_trained:>10,} {report.seconds / max(1, report.step):7.2f}"
            f" {report.rows_per_s:7.1f} {_rss_mb():7.0f}  {line}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{opts.steps} steps of batch {opts.batch_size} each; peak RSS {peak:,.0f} MB")
    return 0
