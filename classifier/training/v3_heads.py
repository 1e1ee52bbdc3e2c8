"""v3 heads on the press office's labels: rows, cross-validation and per-kind thresholds.

Relevance: every press-labelled item in its four kinds (classifier.training.press), plus
baomoi's section labels as today's weak signal (a capped draw, n-gram stage only, weight
SECTION_WEIGHT). Its thresholds are chosen per kind on out-of-fold scores: items are split
into folds (an item's four texts share its fold); fold k is scored by a head fitted on the
other folds and every section row.

Topics, risk and news sentiment: the relevant press-labelled items in their four kinds plus
the edu-news gold items (the press office's first labels); scored by CV over the gold items
(fold k: fitted on every press item and the other gold folds), as v2 was, so the figures
stay comparable.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.heads import HeadKind
from classifier.kinds import KINDS
from classifier.normalize import model_input
from classifier.training.datasets import EDUCATION_LABEL, MAX_CHARS, gold_news, read_rows
from classifier.training.evaluate import (
    best_threshold,
    best_topic_threshold,
    binary_report,
    calibrate,
    multiclass_report,
    nested_topics,
    probs_of,
)
from classifier.training.linear import StackData, StackedHead, fit_stacked
from classifier.training.press import PressItems, dense_rows
from classifier.training.press_run import PressRun

log = logging.getLogger(__name__)

SECTION_WEIGHT = 0.2  # a baomoi section label, against 1 for a press-office label
SECTION_OTHERS = 8000  # non-education section rows drawn (all education ones are kept)
C_DENSE = {"relevance": 0.003, "topics": 0.01, "risk": 0.01, "sentiment_news": 0.01}
C_NGRAM = 10.0


@dataclass
class Rows:
    """Training rows of one head: text, label, weight, encoded?, CV group, kind."""

    texts: list[str]
    y: np.ndarray
    w: np.ndarray
    dense: np.ndarray  # bool
    fold: np.ndarray  # CV fold of the row; -1 = always trained on, never scored
    kind: np.ndarray  # index into KINDS

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        return Rows(
            [t for p in parts for t in p.texts],
            np.concatenate([p.y for p in parts]),
            np.concatenate([p.w for p in parts]).astype(np.float32),
            np.concatenate([p.dense for p in parts]),
            np.concatenate([p.fold for p in parts]),
            np.concatenate([p.kind for p in parts]),
        )


def item_folds(ids: list[str], folds: int) -> np.ndarray:
    """A fold per item from its id: stable when new batches add items."""
    return np.asarray([zlib.crc32(f"fold/{i}".encode()) % folds for i in ids], dtype=np.int64)


def press_rows(items: PressItems, y: np.ndarray, fold: np.ndarray) -> Rows:
    """The items' rows in every kind (their fold shared across kinds)."""
    parts = []
    for k, kind in enumerate(KINDS):
        dense = np.zeros(len(items), bool)
        dense[dense_rows(items, kind)] = True
        parts.append(Rows(items.texts(kind), y, items.weights, dense, fold, np.full(len(items), k)))
    return Rows.concat(parts)


def section_rows(data_dir: Path, skip: set[str], seed: int) -> Rows:
    """baomoi train's section labels (1 = education section), n-gram stage only."""
    rows = [r for r in read_rows(data_dir, "baomoi", "train") if r["baomoi_id"] not in skip]
    edu = [r for r in rows if r["label"] == EDUCATION_LABEL]
    others = [r for r in rows if r["label"] != EDUCATION_LABEL]
    pick = np.random.default_rng(seed).choice(
        len(others), min(SECTION_OTHERS, len(others)), replace=False
    )
    chosen = edu + [others[i] for i in np.sort(pick)]
    n = len(chosen)
    return Rows(
        [model_input(r["title"], r["sapo"], None, MAX_CHARS) for r in chosen],
        np.asarray([int(r["label"] == EDUCATION_LABEL) for r in chosen], np.int64),
        np.full(n, SECTION_WEIGHT, np.float32),
        np.zeros(n, bool),
        np.full(n, -1),
        np.full(n, KINDS.index("title_lead")),
    )


def stack(run: PressRun, rows: Rows, kind: HeadKind, n_out: int) -> StackData:
    """StackData of rows: n-grams of all, standardised embeddings of the encoded ones."""
    d = np.flatnonzero(rows.dense)
    return StackData(
        kind,
        n_out,
        run.bag(rows.texts),
        rows.y,
        rows.w,
        run.feats([rows.texts[i] for i in d]),
        d,
        rows.w[d],
    )


def subset(data: StackData, mask: np.ndarray) -> StackData:
    """The rows of data where mask (dense rows follow their row)."""
    idx = np.flatnonzero(mask)
    remap = np.full(len(data.y), -1)
    remap[idx] = np.arange(len(idx))
    keep = np.flatnonzero(mask[data.dense_rows])
    return StackData(
        data.kind,
        data.n_out,
        data.bag.rows(idx),
        data.y[idx],
        data.w[idx],
        data.dense[keep],
        remap[data.dense_rows[keep]],
        data.dense_w[keep],
    )


def fit(data: StackData, head: str, seed: int, buckets: int) -> StackedHead:
    """One stacked head (e5 + n-grams) at the head's L2 strengths."""
    return fit_stacked(data, buckets=buckets, c_dense=C_DENSE[head], c_ngram=C_NGRAM, seed=seed)


def scored_logits(data: StackData, head: StackedHead, rows: np.ndarray) -> np.ndarray:
    """Logits of training-layout rows that are encoded (dense features needed)."""
    at = {r: i for i, r in enumerate(data.dense_rows.tolist())}
    dense_idx = np.asarray([at[r] for r in rows.tolist()], dtype=np.int64)
    with torch.no_grad():
        z = head.logits(data.dense[dense_idx], data.bag.rows(rows), None).numpy()
    return z.reshape(-1) if head.kind == "binary" else z


def cross_validate(
    data: StackData, rows: Rows, head: str, folds: int, seed: int, buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """(scored rows, their out-of-fold logits): encoded rows with fold >= 0."""
    scored = np.flatnonzero(rows.dense & (rows.fold >= 0))
    oof: np.ndarray | None = None
    for k in range(folds):
        fitted = fit(subset(data, rows.fold != k), head, seed, buckets)
        held = scored[rows.fold[scored] == k]
        z = scored_logits(data, fitted, held)
        if oof is None:
            oof = np.zeros((len(scored), *z.shape[1:]), np.float32)
        oof[np.searchsorted(scored, held)] = z
        log.info("%s CV fold %d/%d", head, k + 1, folds)
    assert oof is not None
    return scored, oof


def relevance_head(
    run: PressRun, items: PressItems, data_dir: Path, folds: int, seed: int
) -> dict[str, Any]:
    """Fit relevance; temperature and per-kind thresholds from out-of-fold scores."""
    fold = item_folds(items.ids, folds)
    rows = Rows.concat(
        [press_rows(items, items.relevant, fold), section_rows(data_dir, set(items.ids), seed)]
    )
    data = stack(run, rows, "binary", 1)
    buckets = run.ngram_config.buckets
    scored, oof = cross_validate(data, rows, "relevance", folds, seed, buckets)
    y, w = rows.y[scored], rows.w[scored]
    temperature, _ = calibrate(oof, y, "binary")
    p = probs_of(oof, "binary", temperature)
    thresholds, cv = {}, {}
    for k, kind in enumerate(KINDS):
        m = rows.kind[scored] == k
        thresholds[kind] = best_threshold(y[m], p[m], w[m])
        cv[kind] = binary_report(y[m], p[m], thresholds[kind], w[m])
    return {
        "head": fit(data, "relevance", seed, buckets),
        "temperature": temperature,
        "thresholds": thresholds,
        "metrics": {"cv_press_labels": cv, "rows": _counts(rows)},
    }


def _counts(rows: Rows) -> dict[str, int]:
    return {
        "rows": len(rows.texts),
        "encoded": int(rows.dense.sum()),
        "press_items": int((rows.fold >= 0).sum() // len(KINDS)),
    }


def gold_rows(data_dir: Path, head: str, folds: int) -> tuple[Rows, Any]:
    """edu-news gold items (title + lead, encoded), with folds over them."""
    gold = gold_news(data_dir)
    fold = np.random.default_rng([13, zlib.crc32(b"news/folds")]).permutation(len(gold)) % folds
    y = {"topics": gold.topics, "risk": gold.risk, "sentiment_news": gold.sentiment}[head]
    n = len(gold)
    k = KINDS.index("title_lead")
    return Rows(gold.texts, y, gold.weights, np.ones(n, bool), fold, np.full(n, k)), gold


def news_head(
    run: PressRun, items: PressItems, data_dir: Path, head: str, folds: int, seed: int
) -> dict[str, Any]:
    """Topics, risk or news sentiment on relevant press items + gold, CV over the gold."""
    rel = items.relevant == 1
    sub = PressItems(
        [i for i, ok in zip(items.ids, rel, strict=True) if ok],
        [t for t, ok in zip(items.titles, rel, strict=True) if ok],
        [t for t, ok in zip(items.leads, rel, strict=True) if ok],
        items.relevant[rel],
        items.topics[rel],
        items.risk[rel],
        items.sentiment[rel],
        items.weights[rel],
    )
    y = {"topics": sub.topics, "risk": sub.risk, "sentiment_news": sub.sentiment}[head]
    ok = y.sum(axis=1) > 0 if head == "topics" else y >= 0
    sub_rows = press_rows(sub, y, np.full(len(sub), -1))
    keep = np.tile(ok, len(KINDS))
    sub_rows = Rows(
        [t for t, k in zip(sub_rows.texts, keep, strict=True) if k],
        sub_rows.y[keep],
        sub_rows.w[keep],
        sub_rows.dense[keep],
        sub_rows.fold[keep],
        sub_rows.kind[keep],
    )
    gold, labels = gold_rows(data_dir, head, folds)
    rows = Rows.concat([sub_rows, gold])
    kind: HeadKind = "multilabel" if head == "topics" else "multiclass"
    n_out = y.shape[1] if head == "topics" else 3
    data = stack(run, rows, kind, n_out)
    buckets = run.ngram_config.buckets
    scored, oof = cross_validate(data, rows, head, folds, seed, buckets)
    gy, gfold = rows.y[scored], rows.fold[scored]
    temperature, _ = calibrate(oof, gy, kind)
    p = probs_of(oof, kind, temperature)
    out: dict[str, Any] = {"temperature": temperature}
    if head == "topics":
        out["threshold"] = best_topic_threshold(gy, p, 3)
        out["metrics"] = {"cv_gold": nested_topics(p, gy, gfold, 3)}
    else:
        out["metrics"] = {"cv_gold": multiclass_report(gy, p)}
        confident = rows.w[scored] >= 1.0
        out["metrics"]["cv_gold_confident_rows"] = multiclass_report(gy[confident], p[confident])
    out["metrics"]["rows"] = _counts(rows) | {"gold_items": len(labels)}
    out["head"] = fit(data, head, seed, buckets)
    return out
