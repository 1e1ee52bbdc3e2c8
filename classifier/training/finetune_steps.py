"""Finetune mode's parts: task streams, batches, one optimiser step, batched eval logits.

Shared by classifier.training.finetune and bench/finetune_speed.py (which times the steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from classifier.corrections import Correction
from classifier.features import NgramBatch, ngram_batch
from classifier.heads import MultiHeadModel, head_loss
from classifier.lora import add_lora
from classifier.training.args import TrainArgs
from classifier.training.datasets import Examples
from classifier.training.tasks import load_tasks, stripped


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


def device_for(args: TrainArgs) -> torch.device:
    """args.device, or CUDA when there is one ("auto")."""
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


def eval_logits(
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
        with torch.inference_mode(), autocast(device):
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


def autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA; a no-op context elsewhere."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


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
    with autocast(device):
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
