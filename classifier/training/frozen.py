"""Frozen mode: every head fitted on cached e5 embeddings stacked over hashed n-grams.

Topics and risk have no training split: their gold labels are the ~330 press-office items
of edu-news (dev only). They are fitted on those plus baomoi's education items labelled by
the keyword baseline (weak labels, weight `weak_weight` each; gold weighs 1, or 0.5 where
the labeller was unsure), and measured by 5-fold cross-validation over the gold items:
each fold's model sees the weak items and the other four folds, never the held-out one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from classifier.corrections import digest
from classifier.heads import CONFIG_FILE, HeadsConfig, MultiHeadModel, adapter_files, adapter_tag
from classifier.training.args import TrainArgs
from classifier.training.common import corrections_report, write_artefact
from classifier.training.evaluate import calibrate
from classifier.training.frozen_run import VARIANTS, Frozen, evaluate_simple
from classifier.training.linear import StackData, StackedHead
from classifier.training.metrics import f1_macro, roc_auc
from classifier.training.news import run_news

log = logging.getLogger(__name__)


# Flags whose effect is the corrections' content (keyed by its digest instead), so runs
# without corrections keep their earlier checkpoints.
_UNKEYED = ("output_dir", "resume", "corrections", "corrections_from_db", "correction_weight")


def _checkpoint(args: TrainArgs, name: str, corrections: str = "") -> Path:
    assert args.work_dir is not None
    key = {k: str(v) for k, v in asdict(args).items() if k not in _UNKEYED}
    if args.adapter_from is not None:
        # Keyed by the adapter's content: a new finetune written to the same folder (or the
        # artefact refitted in place) must not resume heads fitted on the old encoder.
        key["adapter_from"] = adapter_tag(args.adapter_from)
    if corrections:
        key["corrections"] = corrections
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return args.work_dir / "checkpoints" / f"{args.version}-frozen-{digest}" / f"{name}.pt"


def holdout_score(data: StackData, head: StackedHead) -> float:
    """Score on the calibration hold-out (training rows): macro F1 or ROC-AUC."""
    assert head.calib_rows is not None and head.calib_logits is not None
    y = data.y[data.dense_rows[head.calib_rows]]
    z = head.calib_logits
    if head.kind == "multiclass":
        return f1_macro(y, z.argmax(axis=1), head.n_out)
    return roc_auc(y, z.reshape(-1))


def run_simple(run: Frozen, name: str) -> tuple[StackedHead, float, float | None, dict]:
    """Fit, calibrate and evaluate a head in each feature variant; keep e5 + n-grams.

    The other variants are measured for the model card. Picking per head on the 10%
    calibration hold-out was tried and rejected: it is too small to rank variants reliably.
    """
    args = run.args
    data = run.stack(name, [run.part(run.tasks[name])], args.calib_fraction)
    chosen = "e5+ngram" if args.use_ngrams else "e5"
    variants = (VARIANTS if args.use_ngrams else ("e5",)) if args.compare_variants else (chosen,)
    metrics: dict[str, Any] = {}
    fitted: dict[str, tuple[StackedHead, float, float | None]] = {}
    for variant in variants:
        head = run.fit(data, variant)
        assert head.calib_rows is not None and head.calib_logits is not None
        y_cal = data.y[data.dense_rows[head.calib_rows]]
        t, thr = calibrate(head.calib_logits, y_cal, head.kind, data.dense_w[head.calib_rows])
        metrics[variant] = {
            "temperature": t,
            "threshold": thr,
            "holdout_score": holdout_score(data, head),
            "dev": evaluate_simple(run, name, head, t, thr),
        }
        log.info("%s %s: %s", name, variant, json.dumps(metrics[variant], default=float))
        fitted[variant] = (head, t, thr)
    return (*fitted[chosen], {"variant": chosen, **metrics})


def load_head(model: MultiHeadModel, name: str, head: StackedHead) -> None:
    """Copy a fitted head into the model (n-gram bag slice included)."""
    weight, bias, bag = head.export()
    layer = model.heads[name]
    assert isinstance(layer, torch.nn.Linear)
    with torch.no_grad():
        layer.weight.zero_()
        if weight.shape[1]:
            layer.weight.copy_(weight)
        layer.bias.copy_(bias)
        if model.ngram is not None:
            model.ngram.weight[:, model.slices[name]] = 0.0 if bag is None else bag


def train_frozen(args: TrainArgs) -> Path:
    """The frozen-mode pipeline; returns the artefact folder."""
    assert args.output_dir is not None
    run = Frozen(args)
    metrics: dict[str, Any] = {}
    config = run.model.config
    # Keyed by content: the database's corrections change under the same flags.
    ckey = digest(run.corrections, args.correction_weight)
    for name in ("relevance", "toxicity", "misinformation"):
        path = _checkpoint(args, name, ckey)
        if args.resume and path.is_file():
            saved = torch.load(path, weights_only=False)
            log.info("%s: resumed from %s", name, path)
        else:
            head, t, thr, rep = run_simple(run, name)
            saved = {"head": head, "temperature": t, "threshold": thr, "metrics": rep}
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(saved, path)
        load_head(run.model, name, saved["head"])
        config.temperatures[name] = saved["temperature"]
        config.thresholds[name] = saved["threshold"]
        metrics[name] = saved["metrics"]
    path = _checkpoint(args, "news", ckey)
    if args.resume and path.is_file():
        news = torch.load(path, weights_only=False)
    else:
        news = run_news(run)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(news, path)
    for name in ("topics", "risk", "sentiment"):
        load_head(run.model, name, news["heads"][name])
        config.temperatures[name] = news["temperatures"][name]
    config.thresholds["topics"] = news["topic_threshold"]
    metrics.update(news["metrics"])
    metrics["corrections"] = corrections_report(run.corrections, args)
    if args.adapter_from is None:
        return write_artefact(run.model, args.output_dir, metrics, args)
    # write_artefact empties the output folder, which may be the adapter's own (`make train`
    # refits the committed artefact's heads in place): carry the adapter from a copy.
    with tempfile.TemporaryDirectory(prefix="diemtin-adapter-") as tmp:
        source = Path(tmp)
        for name in adapter_sources(Path(args.adapter_from)):
            shutil.copyfile(Path(args.adapter_from) / name, source / name)
        out = write_artefact(run.model, args.output_dir, metrics, args)
        carry_adapter(source, out)
    return out


def adapter_sources(source: Path) -> list[str]:
    """Files of `source` that carry_adapter reads."""
    config = HeadsConfig.from_dict(json.loads((source / CONFIG_FILE).read_text("utf-8")))
    names = [CONFIG_FILE, "metrics.json", *adapter_files(config)]
    return names + [n for n in ("adapter_metrics.json",) if (source / n).is_file()]


def carry_adapter(source: Path, out: Path) -> None:
    """Copy the adapter's encoder files into `out` and point its config at them.

    `source` is a finetune artefact, or an artefact whose heads were themselves fitted on an
    adapter (then the adapter's origin, version and run record, is carried through)."""
    src_config = HeadsConfig.from_dict(json.loads((source / CONFIG_FILE).read_text("utf-8")))
    config = HeadsConfig.from_dict(json.loads((out / CONFIG_FILE).read_text("utf-8")))
    for key in ("delta", "lora"):
        name = src_config.encoder.get(key)
        if name:
            shutil.copyfile(source / name, out / name)
            (out / name).chmod(0o644)
            config.encoder = {**config.encoder, key: name}
    origin = src_config.encoder.get("adapter_version") or src_config.version
    record = "adapter_metrics.json" if src_config.encoder.get("adapter_version") else "metrics.json"
    config.encoder = {**config.encoder, "adapter_version": origin}
    text = json.dumps(config.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
    (out / CONFIG_FILE).write_text(text + "\n", "utf-8")
    # The adapter's own run (arguments, dev metrics of its end-to-end heads) stays with it.
    shutil.copyfile(source / record, out / "adapter_metrics.json")
    adapter = json.loads((source / record).read_text("utf-8"))["args"]
    keys = ("lora_rank", "lora_alpha", "lr", "head_lr", "batch_size", "epochs", "max_steps")
    line = ", ".join(f"{k} {adapter.get(k)}" for k in keys)
    with (out / "MODEL_CARD.md").open("a", encoding="utf-8") as fh:
        fh.write(
            f"\n## Encoder adapter\n\nThe heads above were fitted on the encoder as adapted by "
            f"the finetune run `{origin}` (LoRA on the 12 layers' dense matrices "
            f"+ their LayerNorms; embeddings frozen): {line}. Its files "
            f"(`{'`, `'.join(adapter_files(config))}`) are applied to the base encoder at load "
            "time; its arguments and end-to-end dev metrics are in `adapter_metrics.json`.\n"
        )
