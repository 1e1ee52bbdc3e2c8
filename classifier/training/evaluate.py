"""Dev-set reports, calibration and decision thresholds for the heads."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from classifier.heads import HeadKind, activate, decide_topics, fit_temperature
from classifier.training.metrics import (
    expected_calibration_error,
    f1_binary,
    f1_macro,
    f1_micro_multilabel,
    f1_weighted,
    roc_auc,
)


def probs_of(logits: np.ndarray, kind: HeadKind, temperature: float = 1.0) -> np.ndarray:
    """Probabilities from logits (binary: shape [n])."""
    z = torch.as_tensor(np.asarray(logits, dtype=np.float32)) / temperature
    p = activate(z, kind).numpy()
    return p.reshape(-1) if kind == "binary" else p


def best_threshold(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    """The probability threshold with the best F1 of the positive class."""
    grid = np.unique(np.quantile(p, np.linspace(0.02, 0.98, 97)))
    if len(grid) == 0:
        return 0.5
    scores = [f1_binary(y, p >= t, w) for t in grid]
    return float(grid[int(np.argmax(scores))])


def best_topic_threshold(y: np.ndarray, p: np.ndarray, max_topics: int) -> float:
    """The global topic threshold with the best micro F1 under decide_topics."""
    grid = np.linspace(0.05, 0.95, 91)
    scores = [f1_micro_multilabel(y, decide_topics(p, t, max_topics)) for t in grid]
    return float(grid[int(np.argmax(scores))])


def calibrate(
    logits: np.ndarray, y: np.ndarray, kind: HeadKind, w: np.ndarray | None = None
) -> tuple[float, float | None]:
    """(temperature, F1-best threshold for binary heads) from held-out calibration logits."""
    if len(y) == 0 or len(np.unique(np.asarray(y).reshape(len(y), -1)[:, 0])) < 2:
        return 1.0, 0.5 if kind == "binary" else None
    temperature = fit_temperature(logits, y, kind)
    if kind != "binary":
        return temperature, None
    return temperature, best_threshold(y, probs_of(logits, kind, temperature), w)


def ece(probs: np.ndarray, y: np.ndarray, kind: HeadKind) -> float:
    """Expected calibration error of the predicted class's probability."""
    if kind == "binary":
        conf = np.where(probs >= 0.5, probs, 1 - probs)
        return expected_calibration_error(conf, (probs >= 0.5) == y.astype(bool))
    return expected_calibration_error(probs.max(axis=1), probs.argmax(axis=1) == y)


def binary_report(
    y: np.ndarray, p: np.ndarray, threshold: float, w: np.ndarray | None = None
) -> dict[str, Any]:
    """F1 / precision / recall of the positive class at threshold, ROC-AUC, macro F1."""
    pred = p >= threshold
    yb = y.astype(bool)
    ww = np.ones(len(y)) if w is None else w
    tp = float(ww[yb & pred].sum())
    return {
        "f1": f1_binary(y, pred, w),
        "precision": tp / max(float(ww[pred].sum()), 1e-12),
        "recall": tp / max(float(ww[yb].sum()), 1e-12),
        "macro_f1": (f1_binary(y, pred, w) + f1_binary(~yb, ~pred, w)) / 2,
        "roc_auc": roc_auc(y, p),
        "threshold": threshold,
        "n": len(y),
    }


def multiclass_report(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Weighted / macro F1 and accuracy of argmax predictions."""
    n = p.shape[1]
    pred = p.argmax(axis=1)
    return {
        "f1_weighted": f1_weighted(y, pred, n),
        "f1_macro": f1_macro(y, pred, n),
        "accuracy": float((pred == y).mean()),
        "n": len(y),
    }


def topics_report(y: np.ndarray, p: np.ndarray, threshold: float, max_topics: int) -> dict:
    """Micro F1 of decided topics (and the mean number of topics given)."""
    pred = decide_topics(p, threshold, max_topics)
    return {
        "f1_micro": f1_micro_multilabel(y, pred),
        "labels_per_item": float(pred.sum(axis=1).mean()),
        "threshold": threshold,
        "n": len(y),
    }


def nested_topics(oof: np.ndarray, y: np.ndarray, fold: np.ndarray, max_topics: int) -> dict:
    """Micro F1 where each fold's threshold comes from the other folds' scores."""
    pred = np.zeros_like(y, dtype=np.int64)
    for k in np.unique(fold):
        thr = best_topic_threshold(y[fold != k], oof[fold != k], max_topics)
        pred[fold == k] = decide_topics(oof[fold == k], thr, max_topics)
    return {
        "f1_micro": f1_micro_multilabel(y, pred),
        "labels_per_item": float(pred.sum(axis=1).mean()),
        "n": len(y),
    }
