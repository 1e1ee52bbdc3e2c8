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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.corrections import Correction
from classifier.datasets import Examples
from classifier.evaluate import (
    best_topic_threshold,
    binary_report,
    calibrate,
    ece,
    multiclass_report,
    probs_of,
)
from classifier.features import NgramBatch, ngram_batch
from classifier.heads import MultiHeadModel, head_loss
from classifier.news import _nested_topics
from classifier.tasks import load_tasks, stripped
from classifier.train import (
    TrainArgs,
    base_config,
    corrections_report,
    encoder_path,
    fit_idf,
    load_corrections,
    write_artefact,
)

log = logging.getLogger(__name__)


@dataclass
class Stream:
    """One task's rows and the heads they supervise (label arrays per head)."""

    name: str
    texts: list[str]
    labels: dict[str, np.ndarray]
    weights: np.ndarray
    extras: np.ndarray | None
    train: np.ndarray
    calib: np.ndarray


def training_streams(
    args: TrainArgs, rng: np.random.Generator, corrections: Sequence[Correction] = ()
) -> tuple[list[Stream], Any, Any]:
    assert args.data_dir is not None
    # Corrections of the binary heads and sentiment join their task's rows; those of topics
    # and risk (news.corrections) are used by frozen mode only.
    tasks, news = load_tasks(
        args.data_dir,
        subsets=args.subsets,
        stripped_fraction=0.0,
        weak_weight=args.weak_weight,
        seed=args.seed,
        corrections=corrections,
        correction_weight=args.correction_weight,
    )
    streams = []
    for name, task in tasks.items():
        ex: Examples = task.train.take(task.encoded)
        ex.weights = task.encoded_weights
        streams.append(
            Stream(
                name, ex.texts, {name: ex.labels}, ex.weights, ex.extras, np.arange(0), np.arange(0)
            )
        )
    weak = news.weak
    streams.append(
        Stream(
            "news",
            weak.texts,
            {"topics": weak.topics, "risk": weak.risk, "sentiment": weak.sentiment},
            weak.weights,
            None,
            np.arange(0),
            np.arange(0),
        )
    )
    for s in streams:
        order = rng.permutation(len(s.texts))
        n_cal = max(1, int(0.05 * len(order)))
        s.calib, s.train = np.sort(order[:n_cal]), order[n_cal:]
    return streams, tasks, news


def _device(args: TrainArgs) -> torch.device:
    if args.device != "auto":
        return torch.device(args.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _inputs(
    model: MultiHeadModel, tok: Any, texts: list[str], device: torch.device
) -> tuple[Any, NgramBatch | None]:
    """Token ids (with the model's prefix, truncated) and n-gram bags of texts, on device."""
    cfg = model.config
    enc = tok(
        [cfg.prefix + t for t in texts],
        padding=True,
        truncation=True,
        max_length=cfg.max_length,
        return_tensors="pt",
    ).to(device)
    bag = None
    if cfg.ngram is not None:
        bag = ngram_batch(texts, cfg.ngram, model.idf.cpu().numpy()).to(device)
    return enc, bag


def _logits(
    model: MultiHeadModel,
    tok: Any,
    texts: list[str],
    extras: np.ndarray | None,
    heads: list[str],
    device: torch.device,
    batch: int = 64,
) -> dict[str, np.ndarray]:
    """Logits of texts in eval mode, batched."""
    out: dict[str, list[np.ndarray]] = {h: [] for h in heads}
    model.eval()
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        enc, bag = _inputs(model, tok, chunk, device)
        ext = None
        if extras is not None:
            ext = {"misinformation": torch.from_numpy(extras[start : start + batch]).to(device)}
        with torch.inference_mode(), _autocast(device):
            z = model(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"],
                ngrams=bag,
                extras=ext,
                heads=heads,
            )
        for h in heads:
            out[h].append(z[h].float().cpu().numpy())
    return {h: np.concatenate(v) if v else np.zeros(0) for h, v in out.items()}


def _autocast(device: torch.device) -> Any:
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def _checkpoint_path(args: TrainArgs) -> Path:
    assert args.work_dir is not None
    return args.work_dir / "checkpoints" / f"{args.version}-finetune" / "last.pt"


def prepare_encoder(encoder: Any, args: TrainArgs) -> list[str]:
    """Freeze what finetuning keeps fixed, add LoRA when asked; the trained parameter names.

    The word embeddings always stay frozen. With LoRA the dense matrices stay frozen under
    rank-r updates and the layers' LayerNorms (18k values) are trained in full and saved
    beside the adapters; without, every transformer layer is trained.
    """
    for p in encoder.embeddings.parameters():
        p.requires_grad = False
    if args.lora_rank <= 0:
        return [n for n, p in encoder.named_parameters() if p.requires_grad]
    from classifier.lora import add_lora

    for p in encoder.parameters():
        p.requires_grad = False
    for n, p in encoder.named_parameters():
        if n.startswith("encoder.layer.") and ".LayerNorm." in n:
            p.requires_grad = True
    trainable = [n for n, p in encoder.named_parameters() if p.requires_grad]
    add_lora(encoder, args.lora_rank, args.lora_alpha, dropout=0.05)
    return trainable


def make_optimizer(model: MultiHeadModel, lr: float, head_lr: float) -> torch.optim.AdamW:
    """AdamW over the encoder's trainable parameters (lr, decay 0.01) and the heads (head_lr)."""
    assert model.encoder is not None
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    enc_params = [p for p in model.encoder.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [
            {"params": enc_params, "lr": lr, "weight_decay": 0.01},
            {"params": head_params, "lr": head_lr, "weight_decay": 0.0},
        ]
    )


def task_probabilities(streams: Sequence[Stream]) -> np.ndarray:
    """How often each task is drawn: ~ sqrt(its training rows)."""
    probs = np.sqrt([len(s.train) for s in streams])
    return np.asarray(probs / probs.sum())


def draw_batch(
    streams: Sequence[Stream], probs: np.ndarray, rng: np.random.Generator, batch_size: int
) -> tuple[Stream, np.ndarray]:
    """One task (drawn with `probs`) and a batch of its training rows."""
    s = streams[int(rng.choice(len(streams), p=probs))]
    return s, rng.choice(s.train, size=min(batch_size, len(s.train)), replace=False)


def train_step(
    model: MultiHeadModel,
    tok: Any,
    opt: torch.optim.Optimizer,
    s: Stream,
    idx: np.ndarray,
    rng: np.random.Generator,
    device: torch.device,
) -> torch.Tensor:
    """One optimiser step on rows idx of stream s; returns the loss (on the device: no sync)."""
    model.train()
    # Accent-stripped on the fly: a third of the rows arrive as bare text.
    texts = [stripped(s.texts[i]) if rng.random() < 0.33 else s.texts[i] for i in idx]
    enc, bag = _inputs(model, tok, texts, device)
    ext = None
    if s.extras is not None:
        e = s.extras[idx] * (rng.random((len(idx), 1)) < 0.5)  # engagement often unknown
        ext = {"misinformation": torch.from_numpy(e.astype(np.float32)).to(device)}
    w = torch.from_numpy(s.weights[idx].astype(np.float32)).to(device)
    with _autocast(device):
        z = model(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            ngrams=bag,
            extras=ext,
            heads=list(s.labels),
        )
        loss = torch.stack(
            [
                head_loss(z[h].float(), torch.from_numpy(y[idx]).to(device), model.specs[h].kind, w)
                for h, y in s.labels.items()
            ]
        ).sum()
        # A batch holds one stream, so row weights cancel inside the weighted mean;
        # scaling by the stream's mean weight keeps weak labels worth `weak_weight`.
        loss = loss * float(s.weights.mean())
    opt.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
    opt.step()
    return loss.detach()


def train_finetune(args: TrainArgs) -> Path:
    """The finetune-mode pipeline; returns the artefact folder."""
    from classifier.encoder import load_encoder

    assert args.output_dir is not None
    rng = np.random.default_rng(args.seed)
    device = _device(args)
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
        from classifier.lora import lora_tensors, merge_lora

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
        z = _logits(model, tok, texts, extras, list(s.labels), device)
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
            zd = _logits(model, tok, dev.texts, dev.extras, [name], device)[name]
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
                zb = _logits(
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
    z = _logits(model, tok, gold.texts, None, ["topics", "risk", "sentiment"], device)
    for h, y in (("topics", gold.topics), ("risk", gold.risk)):
        cfg.temperatures[h], _ = calibrate(z[h], y, model.specs[h].kind)
    fold = np.random.default_rng(0).permutation(len(gold)) % 5
    p_top = probs_of(z["topics"], "multilabel", cfg.temperatures["topics"])
    cfg.thresholds["topics"] = best_topic_threshold(gold.topics, p_top, cfg.max_topics)
    # The news heads never saw gold: all of it is a test set (the topic threshold is still
    # tuned fold-wise, so no row is scored with a threshold tuned on itself).
    metrics["topics"] = {
        "chosen": "weak_only",
        "cv_weak_only": _nested_topics(p_top, gold.topics, fold, cfg.max_topics),
    }
    metrics["risk"] = {
        "chosen": "weak_only",
        "cv_weak_only": multiclass_report(gold.risk, probs_of(z["risk"], "multiclass")),
    }
    metrics["sentiment_news"] = {
        "cv_gold+weak": multiclass_report(gold.sentiment, probs_of(z["sentiment"], "multiclass"))
    }
    return metrics
