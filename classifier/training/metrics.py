"""Classification metrics in numpy (no scikit-learn in the stack): F1 variants, ROC-AUC, ECE."""

from __future__ import annotations

import numpy as np


def _weights(y: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    return np.ones(len(y), dtype=np.float64) if w is None else np.asarray(w, dtype=np.float64)


def f1_binary(y: np.ndarray, pred: np.ndarray, w: np.ndarray | None = None) -> float:
    """F1 of the positive class; `w` weighs rows (e.g. to undo a stratified sample)."""
    y, pred, w = np.asarray(y).astype(bool), np.asarray(pred).astype(bool), _weights(y, w)
    tp = float(w[y & pred].sum())
    fp = float(w[~y & pred].sum())
    fn = float(w[y & ~pred].sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def f1_per_class(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 of each class of a single-label problem."""
    return np.array([f1_binary(y == c, pred == c) for c in range(n_classes)])


def f1_macro(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Unweighted mean of per-class F1 (classes absent from both y and pred count as 0)."""
    return float(f1_per_class(np.asarray(y), np.asarray(pred), n_classes).mean())


def f1_weighted(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Per-class F1 weighted by each class's support in y."""
    y = np.asarray(y)
    support = np.bincount(y, minlength=n_classes).astype(np.float64)
    return float((f1_per_class(y, np.asarray(pred), n_classes) * support).sum() / support.sum())


def f1_micro_multilabel(y: np.ndarray, pred: np.ndarray) -> float:
    """Micro-averaged F1 over a [rows, labels] 0/1 matrix."""
    return f1_binary(np.asarray(y).ravel(), np.asarray(pred).ravel())


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied scores sharing ranks)."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    # Average ranks over ties, 1-based.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 10
) -> float:
    """ECE: mean |accuracy - confidence| over equal-width confidence bins, weighted by size."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidence) == 0:
        return 0.0
    idx = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total / len(confidence))
