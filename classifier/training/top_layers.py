"""Training only the encoder's top layers (LoRA or full) + heads, from cached hidden states.

The lower `layer` layers' outputs come from classifier.training.layer_cache; the model here
holds copies of the layers above them and a heads model without an encoder. Two objectives
share the loop: the heads' losses on labelled rows (`label_loss`), and distillation, where a
shallower stack learns to reproduce the full encoder's pooled vector (`distill_loss`: the
squared error in the heads' standardised feature space, which is what the heads read).

Batches are length-bucketed (rows of similar length together: little padding, and a batch
costs what its rows cost); every row is seen once an epoch. A checkpoint (trainable tensors,
optimiser, step) is written every `save_steps` and when the time budget runs out; a later
call with the same arguments resumes from it, replaying the same batch order.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from classifier.features import ngram_batch
from classifier.heads import MultiHeadModel, head_loss
from classifier.lora import add_lora, lora_tensors, merge_lora
from classifier.training.layer_cache import LayerCache, pooled_of, run_layers

log = logging.getLogger(__name__)


class _Stack(nn.Module):
    """Holds layers as `.layer`, so module names read `encoder.layer.N...` (classifier.lora)."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(layers)


class TopModel(nn.Module):
    """Encoder layers [start, stop) from cached hidden states, then pooling and heads."""

    def __init__(
        self, encoder: nn.Module, start: int, heads: MultiHeadModel, stop: int | None = None
    ) -> None:
        super().__init__()
        self.bert_config = encoder.config  # type: ignore[union-attr]
        self.start = start
        layers = encoder.encoder.layer[start:stop]  # type: ignore[union-attr,index]
        self.encoder = _Stack([copy.deepcopy(layer) for layer in layers])
        self.heads = heads

    def pool(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The pooled vector these layers give for cached hidden states."""
        out = run_layers(list(self.encoder.layer), self.bert_config, hidden, mask)
        return pooled_of(out, mask)

    def layer_state(self) -> dict[str, torch.Tensor]:
        """The layers' tensors under the encoder's own names (encoder.layer.<start + i>...)."""
        out = {}
        for name, value in self.encoder.layer.state_dict().items():
            i, _, rest = name.partition(".")
            out[f"encoder.layer.{self.start + int(i)}.{rest}"] = value.detach().cpu()
        return out


def make_trainable(top: TopModel, lora_rank: int, lora_alpha: float = 32.0) -> list[str]:
    """Full: every layer tensor trains. LoRA: rank-r updates + LayerNorms. Heads always."""
    for p in top.encoder.parameters():
        p.requires_grad = lora_rank <= 0
    if lora_rank > 0:
        for n, p in top.encoder.named_parameters():
            p.requires_grad = ".LayerNorm." in n
        # On the TopModel: its layers' names start "encoder.layer.", which add_lora targets.
        add_lora(top, lora_rank, lora_alpha, dropout=0.05)
    return [n for n, p in top.named_parameters() if p.requires_grad]


def finish(top: TopModel) -> dict[str, torch.Tensor]:
    """Merge LoRA updates into the layers; returns them under the full encoder's layer numbers
    (empty for full training)."""
    found = {}
    for name, value in lora_tensors(top).items():
        i, _, rest = name.removeprefix("encoder.layer.").partition(".")
        found[f"encoder.layer.{top.start + int(i)}.{rest}"] = value
    merge_lora(top)
    return found


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, spread: int = 50
) -> list[np.ndarray]:
    """Row indices in batches of similar length, batch order shuffled.

    Rows are shuffled, cut into windows of `spread` batches, sorted by length inside each
    window: batches stay varied from epoch to epoch but pad little.
    """
    order = rng.permutation(len(lengths))
    window = batch_size * spread
    out = []
    for w in range(0, len(order), window):
        rows = order[w : w + window]
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        out += [rows[s : s + batch_size] for s in range(0, len(rows), batch_size)]
    return [out[i] for i in rng.permutation(len(out))]


@dataclass
class CachedTask:
    """Rows of one cache that train together: a label task, or distillation (labels empty)."""

    name: str
    cache: LayerCache
    rows: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    weights: np.ndarray | None = None
    extras: np.ndarray | None = None
    texts: Sequence[str] | None = None  # for the n-gram bag, when the heads have one
    # The heads read the cache's pooled vectors (frozen mode: no encoder layer runs).
    use_pooled: bool = False


Loss = Callable[[TopModel, CachedTask, np.ndarray], torch.Tensor]


def distill_loss(top: TopModel, task: CachedTask, idx: np.ndarray) -> torch.Tensor:
    """Squared error to the full encoder's pooled vector, in the heads' feature space."""
    hidden, mask = task.cache.batch(idx)
    student = top.heads.features(top.pool(hidden, mask))
    teacher = top.heads.features(torch.from_numpy(task.cache.pooled[idx]))
    return ((student - teacher) ** 2).mean()


def label_loss(top: TopModel, task: CachedTask, idx: np.ndarray) -> torch.Tensor:
    """The task's heads' weighted losses (as finetune mode computes them)."""
    heads = top.heads
    if task.use_pooled:
        pooled = torch.from_numpy(task.cache.pooled[idx])
    else:
        pooled = top.pool(*task.cache.batch(idx))
    bag = None
    if heads.config.ngram is not None and task.texts is not None:
        bag = ngram_batch([task.texts[i] for i in idx], heads.config.ngram, heads.idf.numpy())
    ext = None
    if task.extras is not None:
        ext = {"misinformation": torch.from_numpy(task.extras[idx].astype(np.float32))}
    z = heads(pooled=pooled, ngrams=bag, extras=ext, heads=list(task.labels))
    w = None if task.weights is None else torch.from_numpy(task.weights[idx].astype(np.float32))
    losses = [
        head_loss(z[h], torch.from_numpy(y[idx]), heads.specs[h].kind, w)
        for h, y in task.labels.items()
    ]
    return torch.stack(losses).sum()


@dataclass
class TopArgs:
    """How to train: steps, rates, budget, checkpoints."""

    lr: float = 1e-4
    head_lr: float = 1e-3
    batch_size: int = 32
    epochs: float = 1.0
    max_steps: int = 0  # > 0: stop after this many (smoke tests, benches)
    save_steps: int = 100
    time_budget_s: float = 0.0  # > 0: save and stop when spent; call again to go on
    steps_this_call: int = 0  # > 0: save and stop after this many steps (a session's share)
    seed: int = 13
    checkpoint: Path | None = None


@dataclass
class RunReport:
    """Where a call stopped and what it cost."""

    step: int
    total: int
    done: bool
    seconds: float
    rows: int
    losses: list[float]

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def plan(tasks: Sequence[CachedTask], args: TopArgs) -> list[tuple[int, np.ndarray]]:
    """Every epoch's (task, rows) batches, deterministic in the seed (resume replays it)."""
    rng = np.random.default_rng(args.seed)
    out: list[tuple[int, np.ndarray]] = []
    for _ in range(max(1, int(np.ceil(args.epochs)))):
        epoch = [
            (t, task.rows[b])
            for t, task in enumerate(tasks)
            for b in bucketed_batches(task.cache.lengths[task.rows], args.batch_size, rng)
        ]
        out += [epoch[i] for i in rng.permutation(len(epoch))]
    whole = int(len(out) * args.epochs / max(1, int(np.ceil(args.epochs))))
    return out[: args.max_steps or max(1, whole)]


def train_top(
    top: TopModel, tasks: Sequence[CachedTask], args: TopArgs, loss_fn: Loss
) -> RunReport:
    """Train (or resume training) until the plan ends or the time budget is spent."""
    batches = plan(tasks, args)
    enc = [p for p in top.encoder.parameters() if p.requires_grad]
    head = [p for p in top.heads.parameters() if p.requires_grad]
    groups = []
    if enc:
        groups.append({"params": enc, "lr": args.lr, "weight_decay": 0.01})
    if head:
        groups.append({"params": head, "lr": args.head_lr, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups)
    total = len(batches)
    warmup = max(1, total // 20)
    base = [g["lr"] for g in opt.param_groups]
    step = 0
    ckpt = args.checkpoint
    if ckpt is not None and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        top.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        step = int(state["step"])
        log.info("resumed top-layer training at step %d/%d from %s", step, total, ckpt)
    started = time.perf_counter()
    rows, losses = 0, []
    top.train()
    while step < total:
        if args.time_budget_s and time.perf_counter() - started > args.time_budget_s:
            break
        if args.steps_this_call and len(losses) >= args.steps_this_call:
            break
        # Dropout draws depend on the step alone: a resumed run repeats an unbroken one.
        torch.manual_seed(args.seed * 1_000_003 + step)
        scale = min((step + 1) / warmup, (total - step) / max(1, total - warmup))
        for g, lr in zip(opt.param_groups, base, strict=True):
            g["lr"] = lr * scale
        t, idx = batches[step]
        loss = loss_fn(top, tasks[t], idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(enc + head, 1.0)
        opt.step()
        step += 1
        rows += len(idx)
        losses.append(float(loss.detach()))
        if ckpt is not None and (step % args.save_steps == 0 or step == total):
            save_checkpoint(top, opt, step, ckpt)
    if ckpt is not None and step < total:
        save_checkpoint(top, opt, step, ckpt)
    top.eval()
    return RunReport(step, total, step >= total, time.perf_counter() - started, rows, losses)


def save_checkpoint(top: TopModel, opt: torch.optim.Optimizer, step: int, path: Path) -> None:
    """The trainable tensors + optimiser state + step, written atomically."""
    trainable = {n for n, p in top.named_parameters() if p.requires_grad}
    state = {k: v for k, v in top.state_dict().items() if k in trainable}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": state, "opt": opt.state_dict(), "step": step}, tmp)
    tmp.replace(path)
