"""Frozen-mode head fitting: L2-regularised linear models, stacked over two feature sets.

Encoder features are costly (tens of texts per second on a CPU), n-gram features are not.
So a head is fitted in two stages: (1) a linear model on the hashed n-grams of *all* the
training rows, cross-fitted so every row also gets an out-of-fold logit; (2) a linear model
on the embeddings of the rows that were encoded, taking the out-of-fold n-gram logit as an
input scaled by a learned factor `a`. The exported head is
`dense(x) + a * ngram(x)`, which is exactly what `MultiHeadModel` computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from classifier.features import NgramBatch
from classifier.heads import HeadKind, head_loss


@dataclass
class LinearFit:
    """Weights of one fitted linear model (any part may be absent)."""

    bias: torch.Tensor
    dense: torch.Tensor | None = None  # [n_out, d]
    bag: torch.Tensor | None = None  # [buckets, n_out]
    offset_scale: float = 0.0

    def logits(
        self,
        dense: torch.Tensor | None = None,
        bag: NgramBatch | None = None,
        offset: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """[n, n_out] logits of rows given as dense features, n-gram bags and/or offsets."""
        out = self.bias.unsqueeze(0)
        if self.dense is not None and dense is not None:
            out = out + dense @ self.dense.T
        if self.bag is not None and bag is not None:
            out = out + nn.functional.embedding_bag(
                bag.ids, self.bag, bag.offsets, mode="sum", per_sample_weights=bag.weights
            )
        if self.offset_scale and offset is not None:
            out = out + self.offset_scale * offset
        return out


def _targets(y: np.ndarray, kind: HeadKind) -> torch.Tensor:
    return torch.as_tensor(y, dtype=torch.long if kind == "multiclass" else torch.float32)


def fit_linear(
    kind: HeadKind,
    n_out: int,
    y: np.ndarray,
    w: np.ndarray,
    *,
    dense: torch.Tensor | None = None,
    bag: NgramBatch | None = None,
    buckets: int = 0,
    offset: torch.Tensor | None = None,
    c: float = 1.0,
    max_iter: int = 150,
) -> LinearFit:
    """Minimise weighted mean loss + ||W||^2 / (2 C sum(w)) with L-BFGS (scikit-learn's C)."""
    torch.manual_seed(0)
    bias = torch.zeros(n_out, requires_grad=True)
    params = [bias]
    dense_w = bag_w = scale = None
    if dense is not None:
        dense_w = torch.zeros(n_out, dense.shape[1], requires_grad=True)
        params.append(dense_w)
    if bag is not None:
        bag_w = torch.zeros(buckets, n_out, requires_grad=True)
        params.append(bag_w)
    if offset is not None:
        scale = torch.ones((), requires_grad=True)
        params.append(scale)
    target = _targets(y, kind)
    weight = torch.as_tensor(w, dtype=torch.float32)
    penalty = 1.0 / (2.0 * c * float(weight.sum().clamp(min=1e-6)))
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        fit = LinearFit(bias, dense_w, bag_w, 0.0)
        z = fit.logits(dense, bag)
        if scale is not None and offset is not None:
            z = z + scale * offset
        z = z.squeeze(-1) if kind == "binary" else z
        reg = sum((p * p).sum() for p in (dense_w, bag_w) if p is not None)
        loss = head_loss(z, target, kind, weight) + penalty * reg
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    detach = lambda t: None if t is None else t.detach().clone()  # noqa: E731
    return LinearFit(
        bias.detach().clone(),
        detach(dense_w),
        detach(bag_w),
        float(scale.item()) if scale is not None else 0.0,
    )


@dataclass
class StackData:
    """One head's training rows: all of them as n-grams, the encoded ones as embeddings."""

    kind: HeadKind
    n_out: int
    bag: NgramBatch  # every training row
    y: np.ndarray
    w: np.ndarray
    dense: torch.Tensor  # encoded rows (accent-stripped copies included), features
    dense_rows: np.ndarray  # encoded row -> training row
    dense_w: np.ndarray  # weight of each encoded row
    extras: torch.Tensor | None = None  # per encoded row
    calib: np.ndarray | None = None  # bool per encoded row: held out for calibration
    # Stage-1 results by (c, folds, seed): variants of one head share the n-gram stage.
    stage1: dict[tuple[float, int, int], tuple[torch.Tensor, LinearFit]] = field(
        default_factory=dict
    )


@dataclass
class StackedHead:
    """A fitted head: `dense` (with offset scale `a`) over `ngram`, or either alone."""

    kind: HeadKind
    n_out: int
    dense: LinearFit | None
    ngram: LinearFit | None
    calib_logits: np.ndarray | None = None
    calib_rows: np.ndarray | None = None  # encoded-row indices the calib logits belong to

    def logits(
        self, dense: torch.Tensor | None, bag: NgramBatch | None, extras: torch.Tensor | None
    ) -> torch.Tensor:
        """[n, n_out] logits of new rows."""
        x = dense if extras is None or dense is None else torch.cat([dense, extras], dim=1)
        ngram = self.ngram.logits(bag=bag) if self.ngram is not None else None
        if self.dense is None:
            assert ngram is not None
            return ngram
        return self.dense.logits(dense=x, offset=ngram)

    def export(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(Linear weight [n_out, d], bias [n_out], bag [buckets, n_out] or None) to load."""
        a = self.dense.offset_scale if self.dense is not None else 1.0
        bias = torch.zeros(self.n_out)
        weight = None
        if self.dense is not None:
            bias = bias + self.dense.bias
            weight = self.dense.dense
        bag = None
        if self.ngram is not None:
            bias = bias + a * self.ngram.bias
            bag = a * self.ngram.bag if self.ngram.bag is not None else None
        assert weight is not None or bag is not None
        return weight if weight is not None else torch.zeros(self.n_out, 0), bias, bag


def _ngram_stage(
    data: StackData, buckets: int, c: float, folds: int, seed: int
) -> tuple[torch.Tensor, LinearFit]:
    """(out-of-fold logits of every training row, the model fitted on all rows)."""
    kind, n_out = data.kind, data.n_out
    fold = np.random.default_rng(seed).integers(0, folds, size=len(data.y))
    oof = torch.zeros(len(data.y), n_out)
    for k in range(folds):
        train, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        part = fit_linear(
            kind,
            n_out,
            data.y[train],
            data.w[train],
            bag=data.bag.rows(train),
            buckets=buckets,
            c=c,
        )
        oof[torch.as_tensor(held)] = part.logits(bag=data.bag.rows(held))
    return oof, fit_linear(kind, n_out, data.y, data.w, bag=data.bag, buckets=buckets, c=c)


def fit_stacked(
    data: StackData,
    *,
    buckets: int,
    use_dense: bool = True,
    use_ngram: bool = True,
    c_dense: float = 1.0,
    c_ngram: float = 10.0,
    folds: int = 3,
    seed: int = 0,
) -> StackedHead:
    """Fit one head as described in the module docstring."""
    kind, n_out = data.kind, data.n_out
    calib = data.calib if data.calib is not None else np.zeros(len(data.dense_rows), bool)
    oof = None
    ngram = None
    if use_ngram:
        key = (c_ngram, folds, seed)
        if key not in data.stage1:
            data.stage1[key] = _ngram_stage(data, buckets, c_ngram, folds, seed)
        oof, ngram = data.stage1[key]
    dense = None
    calib_logits = None
    rows = np.flatnonzero(~calib)
    held = np.flatnonzero(calib)
    x = data.dense if data.extras is None else torch.cat([data.dense, data.extras], dim=1)
    offset = oof[torch.as_tensor(data.dense_rows)] if oof is not None else None
    if use_dense:
        dense = fit_linear(
            kind,
            n_out,
            data.y[data.dense_rows[rows]],
            data.dense_w[rows],
            dense=x[rows],
            offset=None if offset is None else offset[rows],
            c=c_dense,
        )
        if len(held):
            calib_logits = dense.logits(x[held], offset=None if offset is None else offset[held])
    elif offset is not None and len(held):
        calib_logits = offset[held]
    return StackedHead(
        kind,
        n_out,
        dense,
        ngram,
        None if calib_logits is None else calib_logits.numpy(),
        held,
    )
