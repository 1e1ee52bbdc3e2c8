"""Finetune mode: the encoder's transformer layers are trained together with every head.

Multi-task: each step draws one task (probability ~ sqrt(rows)) and a batch of its rows;
the loss is that task's heads' weighted loss. The word embeddings stay frozen (96M of the
118M parameters, and the only part shared with unseen vocabulary), so the saved delta is
the 12 layers (~21M parameters). News heads (topics, risk, news sentiment) learn from the
weak labels only: the press office's gold items are kept for evaluation. 5% of each task's
rows are held out for temperature scaling and thresholds. Checkpoints every `save_steps`;
`resume` continues from the last one. Meant for a GPU; runs (slowly) on a CPU.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.encoder import load_encoder
from classifier.heads import MultiHeadModel
from classifier.lora import lora_tensors, merge_lora
from classifier.training.args import TrainArgs
from classifier.training.common import (
    base_config,
    corrections_report,
    encoder_path,
    fit_idf,
    load_corrections,
    write_artefact,
)
from classifier.training.evaluate import (
    best_topic_threshold,
    binary_report,
    calibrate,
    ece,
    multiclass_report,
    nested_topics,
    probs_of,
)
from classifier.training.finetune_steps import (
    Stream,
    device_for,
    draw_batch,
    eval_logits,
    make_optimizer,
    prepare_encoder,
    task_probabilities,
    train_step,
    training_streams,
)
from classifier.training.tasks import stripped

log = logging.getLogger(__name__)


def _checkpoint_path(args: TrainArgs) -> Path:
    assert args.work_dir is not None
    return args.work_dir / "checkpoints" / f"{args.version}-finetune" / "last.pt"


def train_finetune(args: TrainArgs) -> Path:
    """The finetune-mode pipeline; returns the artefact folder."""
    assert args.output_dir is not None
    rng = np.random.default_rng(args.seed)
    device = device_for(args)
    path = encoder_path(args)
    encoder, tok = load_encoder(path)
    model = MultiHeadModel(base_config(args, path), encoder)
    used = [c for c in load_corrections(args) if c.head not in ("topics", "risk")]
    streams, tasks, news = training_streams(args, rng, used)
    if args.init_from:
        init = MultiHeadModel.from_pretrained(args.init_from)
        model.load_state_dict(init.head_state(), strict=False)
    else:
        fit_idf(model, [t for s in streams for t in s.texts])
    trainable = prepare_encoder(encoder, args)
    model.to(device)
    if not args.init_from:
        sample = [t for s in streams for t in s.texts[:200]]
        enc = tok(
            ["passage: " + t for t in sample],
            padding=True,
            truncation=True,
            max_length=args.max_length,
            return_tensors="pt",
        ).to(device)
        with torch.inference_mode():
            pooled = torch.cat(
                [
                    model.pool(enc["input_ids"][i : i + 64], enc["attention_mask"][i : i + 64])
                    for i in range(0, len(sample), 64)
                ]
            )
        model.center.copy_(pooled.mean(0))
        model.scale.copy_(1.0 / (pooled.std(0) + 1e-6))

    opt = make_optimizer(model, args.lr, args.head_lr)
    rows = sum(len(s.train) for s in streams)
    total = args.max_steps or max(1, int(args.epochs * rows / args.batch_size))
    plan = {"total": total, "warmup": max(1, int(0.06 * total))}
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda step: min(
            (step + 1) / plan["warmup"],
            max(0.0, (plan["total"] - step) / (plan["total"] - plan["warmup"])),
        ),
    )
    probs = task_probabilities(streams)
    step = 0
    ckpt = _checkpoint_path(args)
    if args.resume and ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        rng = np.random.default_rng(args.seed + step)
        log.info("resumed finetuning at step %d/%d from %s", step, total, ckpt)
    started = mark = time.perf_counter()
    while step < plan["total"]:
        if step == 50:
            mark = time.perf_counter()
        if args.time_budget_s and step == 150:
            # A leased GPU has a hard limit: fit the schedule to the speed measured after
            # the warm-up steps (CUDA init, kernel choice), early, so the run still ends
            # with its decayed learning rate.
            per_step = (time.perf_counter() - mark) / 100
            left = args.time_budget_s - (time.perf_counter() - started)
            fit = 150 + int(left / per_step)
            if fit < plan["total"]:
                log.info("time budget: %d of %d steps (%.1f ms/step)", fit, total, per_step * 1e3)
                plan["total"] = max(fit, 2 * plan["warmup"])
                args.max_steps = plan["total"]
        s, idx = draw_batch(streams, probs, rng, args.batch_size)
        loss = train_step(model, tok, opt, s, idx, rng, device)
        sched.step()
        step += 1
        if step % 50 == 0 or step == plan["total"]:
            log.info("step %d/%d %s loss %.4f", step, plan["total"], s.name, float(loss))
        if step % args.save_steps == 0 or step == plan["total"]:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            trainable_state = {
                k: v
                for k, v in model.state_dict().items()
                if not k.startswith("encoder.embeddings.")
            }
            torch.save(
                {
                    "model": trainable_state,
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "step": step,
                },
                ckpt,
            )

    lora = None
    if args.lora_rank > 0:
        lora = lora_tensors(encoder)
        merge_lora(encoder)  # evaluate exactly what from_pretrained will rebuild
    metrics = _evaluate(model, tok, streams, tasks, news, device)
    metrics["corrections"] = corrections_report(used, args)
    model.to("cpu")
    return write_artefact(
        model, args.output_dir, metrics, args, encoder_params=trainable, encoder_lora=lora
    )


def _evaluate(
    model: MultiHeadModel,
    tok: Any,
    streams: list[Stream],
    tasks: dict,
    news: Any,
    device: torch.device,
) -> dict[str, Any]:
    """Calibrate on the held-out rows, then score every dev set and the gold news."""
    cfg = model.config
    for s in streams:
        texts = [s.texts[i] for i in s.calib]
        extras = s.extras[s.calib] if s.extras is not None else None
        z = eval_logits(model, tok, texts, extras, list(s.labels), device)
        for h, y in s.labels.items():
            if h in ("topics", "risk") or (h == "sentiment" and s.name == "news"):
                continue  # weak labels do not calibrate; gold-news CV below does
            t, thr = calibrate(z[h], y[s.calib], model.specs[h].kind, s.weights[s.calib])
            cfg.temperatures[h] = t
            if thr is not None:
                cfg.thresholds[h] = thr
    metrics: dict[str, Any] = {}
    for name, task in tasks.items():
        spec = model.specs[name]
        dev_rep: dict[str, Any] = {}
        for dev_name, dev in task.dev.items():
            zd = eval_logits(model, tok, dev.texts, dev.extras, [name], device)[name]
            p = probs_of(zd, spec.kind, cfg.temperatures.get(name, 1.0))
            rep = (
                binary_report(dev.labels, p, cfg.thresholds.get(name) or 0.5, dev.weights)
                if spec.kind == "binary"
                else multiclass_report(dev.labels, p)
            )
            rep["ece_calibrated"] = ece(p, dev.labels, spec.kind)
            idx = task.dev_stripped.get(dev_name)
            if idx is not None and len(idx):
                sub = dev.take(idx)
                zb = eval_logits(
                    model, tok, [stripped(t) for t in sub.texts], sub.extras, [name], device
                )[name]
                pb = probs_of(zb, spec.kind, cfg.temperatures.get(name, 1.0))
                rep["bare"] = (
                    binary_report(sub.labels, pb, cfg.thresholds.get(name) or 0.5, sub.weights)
                    if spec.kind == "binary"
                    else multiclass_report(sub.labels, pb)
                )
            dev_rep[dev_name] = rep
        metrics[name] = {"variant": "finetune", "finetune": {"dev": dev_rep}}
    gold = news.gold
    z = eval_logits(model, tok, gold.texts, None, ["topics", "risk", "sentiment"], device)
    for h, y in (("topics", gold.topics), ("risk", gold.risk)):
        cfg.temperatures[h], _ = calibrate(z[h], y, model.specs[h].kind)
    fold = np.random.default_rng(0).permutation(len(gold)) % 5
    p_top = probs_of(z["topics"], "multilabel", cfg.temperatures["topics"])
    cfg.thresholds["topics"] = best_topic_threshold(gold.topics, p_top, cfg.max_topics)
    # The news heads never saw gold: all of it is a test set (the topic threshold is still
    # tuned fold-wise, so no row is scored with a threshold tuned on itself).
    metrics["topics"] = {
        "chosen": "weak_only",
        "cv_weak_only": nested_topics(p_top, gold.topics, fold, cfg.max_topics),
    }
    metrics["risk"] = {
        "chosen": "weak_only",
        "cv_weak_only": multiclass_report(gold.risk, probs_of(z["risk"], "multiclass")),
    }
    metrics["sentiment_news"] = {
        "cv_gold+weak": multiclass_report(gold.sentiment, probs_of(z["sentiment"], "multiclass"))
    }
    return metrics
