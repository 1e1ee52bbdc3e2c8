"""Distil the adapted encoder into a shallower student on a CPU (classifier.student).

The student is the teacher's first `layers` layers. Layers below `split` stay as they are, so
their output is cached once (classifier.training.layer_cache, which also stores the teacher's
pooled vector per row); layers split..layers-1 are trained to reproduce the teacher's pooled
vector in the heads' standardised feature space (top_layers.distill_loss). The rows are
unlabelled text of every kind the service reads (news titles + leads, article bodies,
students' comments, social posts), from the training splits only, a share without
diacritics. The last `check_share` of the rows are never trained on: the run reports the
student's cosine to the teacher and how often every head decides the same on them.

    python -m classifier.training.distill [--layers 6] [--split 3] [--rows 8000] [--epochs 2]
        [--time-budget-s 3000] [--threads 2]   (rerun the same command to resume)
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from classifier.artefact import DEFAULT_VERSION, MODELS_DIR
from classifier.encoder import load_encoder
from classifier.encoder_install import ensure_encoder
from classifier.features import encoder_fingerprint, ngram_batch
from classifier.heads import MultiHeadModel, decide_topics
from classifier.normalize import prepare_text
from classifier.student import FORMAT, STUDENT_CONFIG, STUDENT_WEIGHTS, teacher_tag
from classifier.training.datasets import (
    misinformation,
    relevance,
    sentiment_vsfc,
    toxicity_victsd,
    toxicity_vihsd,
)
from classifier.training.layer_cache import LayerCache, build_layer_cache
from classifier.training.tasks import stripped
from classifier.training.top_layers import (
    CachedTask,
    TopArgs,
    TopModel,
    distill_loss,
    make_trainable,
    train_top,
)
from core.settings import get_settings

log = logging.getLogger(__name__)

# Shares of the distillation rows per kind of text (news dominates what the service reads).
MIX = {"baomoi": 0.4, "vntc": 0.1, "vsfc": 0.15, "victsd": 0.1, "vihsd": 0.1, "reintel": 0.15}
BARE_SHARE = 0.15


def _vntc(data_dir: Path) -> list[str]:
    path = data_dir / "vntc-articles" / "sample.csv"
    if not path.is_file():
        return []
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def distill_texts(data_dir: Path, rows: int, seed: int, max_chars: int) -> list[str]:
    """`rows` unlabelled training texts in MIX's shares, prepared as the service prepares."""
    sources = {
        "baomoi": lambda: relevance(data_dir, "train").texts,
        "vntc": lambda: _vntc(data_dir),
        "vsfc": lambda: sentiment_vsfc(data_dir, "train").texts,
        "victsd": lambda: toxicity_victsd(data_dir, "train").texts,
        "vihsd": lambda: toxicity_vihsd(data_dir, "train").texts,
        "reintel": lambda: misinformation(data_dir, "train").texts,
    }
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for name, share in MIX.items():
        try:
            pool = list(sources[name]())
        except FileNotFoundError:
            continue
        take = rng.permutation(len(pool))[: int(round(rows * share))]
        out += [pool[i] for i in take]
    out = [prepare_text(t, max_chars) for t in out]
    out = [stripped(t) if rng.random() < BARE_SHARE else t for t in out]
    out = [t for t in out if t.strip()]
    return [out[i] for i in rng.permutation(len(out))]


def decisions(heads: MultiHeadModel, pooled: torch.Tensor, texts: list[str]) -> dict[str, Any]:
    """What the service decides per head from pooled vectors (n-grams included)."""
    cfg = heads.config
    bag = ngram_batch(texts, cfg.ngram, heads.idf.numpy()) if cfg.ngram is not None else None
    with torch.inference_mode():
        p = heads.probabilities(heads(pooled=pooled, ngrams=bag))
    thr = cfg.thresholds
    topics = decide_topics(p["topics"].numpy(), thr.get("topics", 0.5), cfg.max_topics)
    return {
        "relevance": (p["relevance"] >= (thr.get("relevance") or 0.5)).numpy(),
        "toxicity": (p["toxicity"] >= (thr.get("toxicity") or 0.5)).numpy(),
        "misinformation": (p["misinformation"] >= (thr.get("misinformation") or 0.5)).numpy(),
        "sentiment": p["sentiment"].argmax(-1).numpy(),
        "risk": p["risk"].argmax(-1).numpy(),
        "topics": [tuple(np.flatnonzero(row)) for row in topics],
    }


def agreement(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """Per head, the share of rows on which two sets of decisions are equal."""
    return {h: float(np.mean([x == y for x, y in zip(a[h], b[h], strict=True)])) for h in a}


def check(top: TopModel, cache: LayerCache, rows: np.ndarray, texts: list[str]) -> dict[str, Any]:
    """Student vs teacher on rows never trained on: cosine and label agreement."""
    got, want = [], []
    with torch.inference_mode():
        for s in range(0, len(rows), 64):
            idx = rows[s : s + 64]
            hidden, mask = cache.batch(idx)
            got.append(top.pool(hidden, mask))
            want.append(torch.from_numpy(cache.pooled[idx]))
    student, teacher = torch.cat(got), torch.cat(want)
    cos = (student * teacher).sum(-1).numpy()
    chosen = [texts[i] for i in rows]
    same = agreement(decisions(top.heads, teacher, chosen), decisions(top.heads, student, chosen))
    return {
        "rows": len(rows),
        "cosine_mean": round(float(cos.mean()), 5),
        "cosine_min": round(float(cos.min()), 5),
        "agreement": {h: round(v, 4) for h, v in same.items()},
        "agreement_all": round(float(np.mean(list(same.values()))), 4),
    }


def save_student(top: TopModel, out: Path, meta: dict[str, Any]) -> Path:
    """student.safetensors (retrained layers, fp16) + student.json."""
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.half().contiguous() for k, v in top.layer_state().items()}
    save_file(tensors, str(out / STUDENT_WEIGHTS), metadata={"format": FORMAT})
    (out / STUDENT_WEIGHTS).chmod(0o644)
    text = json.dumps({"format": FORMAT, **meta}, indent=2, ensure_ascii=False, sort_keys=True)
    (out / STUDENT_CONFIG).write_text(text + "\n", "utf-8")
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command's flags."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--teacher", type=Path, default=MODELS_DIR / DEFAULT_VERSION)
    p.add_argument("--out", type=Path, default=None, help="default: models/<teacher>-s<layers>")
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--split", type=int, default=3, help="layers below this stay frozen")
    p.add_argument("--rows", type=int, default=8000)
    p.add_argument("--check-share", type=float, default=0.05)
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--time-budget-s", type=float, default=0.0, help="cache + training, then stop")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--encoder-dir", type=Path, default=None)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--work-dir", type=Path, default=None)
    return p.parse_args(argv)


def distill(opts: argparse.Namespace) -> dict[str, Any]:
    """Build/resume the cache, train/resume the student; save it once done."""
    settings = get_settings()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    data_dir = Path(opts.data_dir or settings.shared_data_dir)
    work = Path(opts.work_dir or settings.data_dir / "classifier") / "distill"
    out = Path(opts.out or MODELS_DIR / f"{Path(opts.teacher).name}-s{opts.layers}")
    started = time.perf_counter()
    where = Path(opts.encoder_dir or ensure_encoder(settings))
    encoder, tok = load_encoder(where)
    teacher = MultiHeadModel.from_pretrained(opts.teacher, encoder=encoder)  # adapter applied
    cfg = teacher.config
    tag = teacher_tag(opts.teacher, encoder_fingerprint(where))
    texts = distill_texts(data_dir, opts.rows, opts.seed, cfg.max_chars)
    cache = build_layer_cache(
        encoder,
        tok,
        texts,
        work / "cache",
        layer=opts.split,
        max_length=cfg.max_length,
        prefix=cfg.prefix,
        encoder_tag=tag,
        time_budget_s=opts.time_budget_s,
    )
    if cache is None:
        return {"done": False, "stage": "cache"}
    heads = MultiHeadModel.from_pretrained(opts.teacher)
    for p in heads.parameters():
        p.requires_grad = False
    top = TopModel(encoder, opts.split, heads, stop=opts.layers)
    make_trainable(top, lora_rank=0)
    n_check = max(1, int(len(cache) * opts.check_share))
    train_rows, check_rows = (
        np.arange(len(cache) - n_check),
        np.arange(len(cache) - n_check, len(cache)),
    )
    key = cache.meta["key"]
    args = TopArgs(
        lr=opts.lr,
        batch_size=opts.batch_size,
        epochs=opts.epochs,
        max_steps=opts.max_steps,
        time_budget_s=max(1.0, opts.time_budget_s - (time.perf_counter() - started))
        if opts.time_budget_s
        else 0.0,
        seed=opts.seed,
        checkpoint=work / "checkpoints" / f"{key}-s{opts.layers}-{opts.split}.pt",
    )
    before = check(top, cache, check_rows, texts)
    report = train_top(top, [CachedTask("distill", cache, train_rows)], args, distill_loss)
    result: dict[str, Any] = {
        "done": report.done,
        "stage": "train",
        "step": report.step,
        "total": report.total,
        "s_per_step": round(report.seconds / max(1, len(report.losses)), 3),
        "rows_per_s": round(report.rows_per_s, 1),
        "loss_last": round(float(np.mean(report.losses[-20:])), 5) if report.losses else None,
    }
    if not report.done:
        return result
    after = check(top, cache, check_rows, texts)
    recipe = {k: v for k, v in vars(opts).items() if not isinstance(v, Path) and v is not None}
    meta = {
        "layers": opts.layers,
        "split": opts.split,
        "teacher": tag,
        "teacher_artefact": Path(opts.teacher).name,
        "recipe": recipe,
        "train_args": {k: v for k, v in asdict(args).items() if k != "checkpoint"},
        "cache_rows": len(cache),
        "cache_build_s": cache.meta.get("build_s"),
        "held_out_before": before,
        "held_out_after": after,
    }
    save_student(top, out, meta)
    return {**result, "out": str(out), "held_out_before": before, "held_out_after": after}


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures as JSON."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(json.dumps(distill(parse(argv)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
