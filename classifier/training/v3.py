"""Classifier v3 (issue 20): heads taught by the press office's labels, decided per kind.

    python -m classifier.training.v3 [--version e5s-v3] [--base classifier/models/e5s-v2]
        [--folds 5] [--threads 2]          (make train-v3)

On the encoder e5s-v2's finetune adapted (its LoRA/delta files ride into the artefact):
- relevance, topics, risk and news sentiment (a new head, `sentiment_news`) are refitted on
  every committed data/press-labels batch (classifier.training.v3_heads), each item trained
  as headline, title + lead, body and social text (classifier.training.press), linear on
  the pooled vectors;
- comment sentiment (`sentiment`, UIT-VSFC), toxicity and misinformation keep e5s-v2's
  heads unchanged (same standardisation and IDF, so they score exactly as before);
- thresholds per kind of text (classifier.kinds): relevance from out-of-fold scores on the
  press labels; misinformation and toxicity on social text keep e5s-v2's (set on held-out
  social posts and comments), on news text they are set on the press-labelled news so that
  at most FALSE_FLAG[head] of it is flagged (no labelled fake or toxic news exists here).
Pooled vectors are cached per text under <data_dir>/classifier/embeddings, so a rerun on
new batches encodes only their rows (bench figures: the model card).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.artefact import MODELS_DIR
from classifier.encoder_install import ensure_encoder
from classifier.heads import HeadSpec, MultiHeadModel, adapter_files
from classifier.kinds import KINDS
from classifier.training.frozen import carry_adapter, load_head
from classifier.training.press import LABELS_DIR, dense_rows, press_items
from classifier.training.press_run import PressRun
from classifier.training.v3_card import model_card
from classifier.training.v3_eval import fixture_report, relevance_dev_report
from classifier.training.v3_heads import news_head, relevance_head
from core.settings import get_settings
from core.taxonomy import SENTIMENTS

log = logging.getLogger(__name__)

# Share of press-office-labelled news (all of it real, published news) that may carry the
# flag: the threshold on news text where no labelled fake or toxic news exists to set it.
FALSE_FLAG = {"misinformation": 0.05, "toxicity": 0.02}
NEWS_KINDS = ("headline", "title_lead", "body")
KEPT_HEADS = ("sentiment", "toxicity", "misinformation")


@dataclass
class V3Args:
    """Arguments of `python -m classifier.training.v3` (each a flag)."""

    version: str = "e5s-v3"
    base: Path = MODELS_DIR / "e5s-v2"
    labels_dir: Path = LABELS_DIR
    data_dir: Path | None = None  # default settings.shared_data_dir
    work_dir: Path | None = None  # embedding cache; default <settings.data_dir>/classifier
    encoder_dir: Path | None = None  # default ensure_encoder(settings)
    output_dir: Path | None = None  # default classifier/models/<version>
    folds: int = 5
    seed: int = 13
    threads: int = 2  # the CPU is shared: 2 by default


def flag_thresholds(run: PressRun, items: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Misinformation and toxicity thresholds per kind (see the module docstring)."""
    base = run.base.config.thresholds
    out: dict[str, float] = {}
    report: dict[str, Any] = {}
    for head, rate in FALSE_FLAG.items():
        out[f"{head}/social"] = float(base[head])
        report[head] = {"social": {"threshold": float(base[head]), "from": "e5s-v2 hold-out"}}
        for kind in NEWS_KINDS:
            p = run.base_probs(head, items.texts(kind, dense_rows(items, kind)))
            out[f"{head}/{kind}"] = float(np.quantile(p, 1.0 - rate))
            report[head][kind] = {
                "threshold": out[f"{head}/{kind}"],
                "news_flagged": rate,
                "n": len(p),
                "median_score": float(np.median(p)),
                "flagged_at_base_threshold": float((p >= base[head]).mean()),
            }
    return out, report


def _score(head: str, report: dict[str, Any]) -> float:
    return float(report["f1_micro"] if head == "topics" else report["f1_macro"])


def base_cv(base: dict[str, Any], head: str) -> dict[str, Any] | None:
    """The base artefact's CV figure of a news head on the gold (None: it has no such head)."""
    if head not in ("topics", "risk") or head not in base:
        return None
    report = base[head][f"cv_{base[head].get('chosen', 'gold+weak')}"]
    return {"score": _score(head, report), "source": base[head].get("chosen"), **report}


def build_model(base: MultiHeadModel, version: str) -> MultiHeadModel:
    """A model with the base's heads and buffers plus an empty `sentiment_news` head."""
    cfg = base.config
    heads = (*cfg.heads, HeadSpec("sentiment_news", "multiclass", SENTIMENTS))
    config = replace(
        cfg, version=version, heads=heads, temperatures=dict(cfg.temperatures), thresholds={}
    )
    model = MultiHeadModel(config)
    with torch.no_grad():
        for name in ("center", "scale", "idf"):
            getattr(model, name).copy_(getattr(base, name))
        for spec in cfg.heads:
            model.heads[spec.name].load_state_dict(base.heads[spec.name].state_dict())
            assert model.ngram is not None and base.ngram is not None
            model.ngram.weight[:, model.slices[spec.name]] = base.ngram.weight[
                :, base.slices[spec.name]
            ]
    return model.eval()


def train_v3(args: V3Args) -> Path:
    """Fit, measure and write the v3 artefact; returns its folder."""
    started = time.perf_counter()
    settings = get_settings()
    data_dir = Path(args.data_dir or settings.shared_data_dir)
    out = Path(args.output_dir or MODELS_DIR / args.version)
    encoder_dir = Path(args.encoder_dir or ensure_encoder(settings))
    run = PressRun(
        args.base,
        encoder_dir,
        Path(args.work_dir or settings.data_dir / "classifier"),
        max_length=MultiHeadModel.from_pretrained(args.base).config.max_length,
        threads=args.threads,
    )
    torch.manual_seed(args.seed)
    items = press_items(data_dir, args.labels_dir)
    log.info("%d press-labelled items (%d relevant)", len(items), int(items.relevant.sum()))
    model = build_model(run.base, args.version)
    cfg = model.config
    metrics: dict[str, Any] = {
        "press_labels": {
            "items": len(items),
            "relevant": int(items.relevant.sum()),
            "unsure": int((items.weights < 1).sum()),
            "batches": len(list(Path(args.labels_dir).glob("batch_*.csv"))),
        }
    }
    rel = relevance_head(run, items, data_dir, args.folds, args.seed)
    load_head(model, "relevance", rel["head"])
    cfg.temperatures["relevance"] = rel["temperature"]
    cfg.thresholds.update({f"relevance/{k}": v for k, v in rel["thresholds"].items()})
    cfg.thresholds["relevance"] = rel["thresholds"]["title_lead"]
    metrics["relevance"] = rel["metrics"]
    base_news = json.loads((Path(args.base) / "metrics.json").read_text("utf-8"))["metrics"]
    for head in ("topics", "risk", "sentiment_news"):
        fitted = news_head(run, items, data_dir, head, args.folds, args.seed)
        metrics[head] = fitted["metrics"]
        kept = base_cv(base_news, head)
        metrics[head]["base_cv"] = kept
        # The base's stacked head (e5 + n-grams) is scored on the same gold folds: keep the
        # better of the two by that CV (reported; choosing makes it slightly optimistic).
        if kept is not None and kept["score"] > _score(head, fitted["metrics"]["cv_gold"]):
            metrics[head]["chosen"] = "base"
            cfg.thresholds["topics"] = run.base.config.thresholds.get("topics", 0.5)
            continue
        metrics[head]["chosen"] = "v3"
        load_head(model, head, fitted["head"])
        cfg.temperatures[head] = fitted["temperature"]
        if head == "topics":
            cfg.thresholds["topics"] = fitted["threshold"]
    flags, metrics["flags"] = flag_thresholds(run, items)
    cfg.thresholds.update(flags)
    for head in ("misinformation", "toxicity"):
        cfg.thresholds[head] = flags[f"{head}/title_lead"]
    metrics["edu_relevance_dev"] = relevance_dev_report(model, run, data_dir)
    metrics["press_items_fixture"] = fixture_report(model, run)
    metrics["base"] = {"version": run.base.config.version, "kept_heads": list(KEPT_HEADS)}
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    metrics["threads"] = args.threads
    write(model, out, metrics, args)
    if adapter_files(run.base.config):
        carry_adapter(Path(args.base), out)
    log.info("v3 trained in %.0f s -> %s", time.perf_counter() - started, out)
    return out


def write(model: MultiHeadModel, out: Path, metrics: dict[str, Any], args: V3Args) -> None:
    """Heads, metrics.json and MODEL_CARD.md into out (replacing its files)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if stale.is_file():
            stale.unlink()
    model.save_pretrained(out)
    info = {"folds": args.folds, "seed": args.seed, "threads": args.threads, "kinds": KINDS}
    payload = {"version": model.config.version, "args": info, "metrics": metrics}
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True, default=float)
    (out / "metrics.json").write_text(text + "\n", "utf-8")
    (out / "MODEL_CARD.md").write_text(model_card(model.config, metrics), "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m classifier.training.v3", description=__doc__)
    defaults = V3Args()
    for name, value in vars(defaults).items():
        kind = Path if name.endswith("_dir") or name == "base" else type(value)
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=value)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    out = train_v3(V3Args(**vars(parser.parse_args(argv))))
    print(f"artefact: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
