"""Training and dev rows of every head, with the subsets that the CPU budget allows.

A head's training rows all feed the n-gram stage; only `encoded` rows (plus accent-stripped
copies of `stripped` rows) go through the encoder. Subsets are drawn with a fixed seed so
reruns hit the embedding cache. Stratified subsets carry weights that undo the sampling,
so losses and dev metrics estimate the full data's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.corrections import Correction
from classifier.normalize import model_input, normalize_for_model
from classifier.training import datasets as ds
from classifier.training.datasets import Examples, NewsLabels
from core.taxonomy import RISKS, SENTIMENTS
from core.text import strip_accents

DEFAULT_SUBSETS: dict[str, int] = {
    "relevance_pos": 1500,  # baomoi education items encoded (of ~3,900)
    "relevance_neg": 1500,  # other baomoi items encoded (of ~46,000)
    "relevance_dev": 1500,  # all ~455 education dev items + the rest drawn from the others
    "sentiment": 4000,  # UIT-VSFC (of 11,426)
    "victsd": 3000,  # UIT-ViCTSD (of 7,000)
    "vihsd": 3000,  # ViHSD (of 24,048)
    "vihsd_dev": 1000,  # ViHSD dev (of 2,672)
    "reintel": 0,  # 0 = all (3,054)
}


def stripped(text: str) -> str:
    """The text as typed without diacritics, through the same normalisation."""
    return normalize_for_model(strip_accents(text))


def stratified_weights(y: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Per-row weights making a class-stratified subset stand for its population."""
    out = np.ones(len(y), dtype=np.float32)
    for cls in np.unique(population):
        n_sub = int((y == cls).sum())
        if n_sub:
            out[y == cls] = float((population == cls).sum()) / n_sub
    return out / out.mean()


@dataclass
class Task:
    """One head's rows: training (all / encoded / stripped) and dev sets."""

    head: str
    train: Examples
    encoded: np.ndarray
    stripped: np.ndarray
    # Weight of each encoded row in the dense stage (stratification undone).
    encoded_weights: np.ndarray
    dev: dict[str, Examples] = field(default_factory=dict)
    # Dev rows (indices) that are also scored as accent-stripped text.
    dev_stripped: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class News:
    """Press-office gold labels and weakly labelled education news (topics, risk, sentiment)."""

    gold: NewsLabels
    weak: NewsLabels
    weak_encoded: np.ndarray
    weak_stripped: np.ndarray
    # Press-office corrections of topics and risk: trained beside the gold rows, never scored.
    corrections: dict[str, Examples] = field(default_factory=dict)


def _pick(rng: np.random.Generator, candidates: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or n >= len(candidates):
        return np.sort(candidates)
    return np.sort(rng.choice(candidates, size=n, replace=False))


def _simple(head: str, train: Examples, n: int, rng: np.random.Generator, fraction: float) -> Task:
    enc = _pick(rng, np.arange(len(train)), n)
    strip = _pick(rng, enc, int(len(enc) * fraction)) if fraction > 0 else enc[:0]
    return Task(head, train, enc, strip, train.weights[enc].copy())


def load_tasks(
    data_dir: Path,
    *,
    subsets: dict[str, int] | None = None,
    stripped_fraction: float = 0.5,
    weak_weight: float = 0.1,
    seed: int = 13,
    corrections: Sequence[Correction] = (),
    correction_weight: float = 2.0,
) -> tuple[dict[str, Task], News]:
    """Read every dataset and draw the encoded subsets (deterministic for a seed), then add
    the label corrections (each encoded, with its accent-stripped copy)."""
    sizes = {**DEFAULT_SUBSETS, **(subsets or {})}
    rng = np.random.default_rng(seed)
    tasks: dict[str, Task] = {}

    # relevance: stratified, so each class keeps enough encoded rows.
    rel = ds.relevance(data_dir, "train")
    pos, neg = np.flatnonzero(rel.labels == 1), np.flatnonzero(rel.labels == 0)
    chosen = [_pick(rng, pos, sizes["relevance_pos"]), _pick(rng, neg, sizes["relevance_neg"])]
    enc = np.sort(np.concatenate(chosen))
    strip = _pick(rng, enc, int(len(enc) * stripped_fraction))
    task = Task("relevance", rel, enc, strip, stratified_weights(rel.labels[enc], rel.labels))
    rel_dev = ds.relevance(data_dir, "dev")
    dpos, dneg = np.flatnonzero(rel_dev.labels == 1), np.flatnonzero(rel_dev.labels == 0)
    keep = np.sort(np.concatenate([dpos, _pick(rng, dneg, sizes["relevance_dev"] - len(dpos))]))
    dev = rel_dev.take(keep)
    dev.weights = stratified_weights(dev.labels, rel_dev.labels)
    task.dev["baomoi"] = dev
    task.dev_stripped["baomoi"] = _pick(rng, np.arange(len(dev)), len(dev) // 2)
    tasks["relevance"] = task

    vsfc = ds.sentiment_vsfc(data_dir, "train")
    task = _simple("sentiment", vsfc, sizes["sentiment"], rng, stripped_fraction)
    task.dev["uit-vsfc"] = ds.sentiment_vsfc(data_dir, "dev")
    task.dev_stripped["uit-vsfc"] = np.arange(len(task.dev["uit-vsfc"]))
    tasks["sentiment"] = task

    victsd = ds.toxicity_victsd(data_dir, "train")
    vihsd = ds.toxicity_vihsd(data_dir, "train")
    a = _simple("toxicity", victsd, sizes["victsd"], rng, stripped_fraction)
    b = _simple("toxicity", vihsd, sizes["vihsd"], rng, stripped_fraction)
    both = Examples.concat([victsd, vihsd], "uit-victsd+vihsd")
    task = Task(
        "toxicity",
        both,
        np.concatenate([a.encoded, b.encoded + len(victsd)]),
        np.concatenate([a.stripped, b.stripped + len(victsd)]),
        np.concatenate([a.encoded_weights, b.encoded_weights]),
    )
    task.dev["uit-victsd"] = ds.toxicity_victsd(data_dir, "dev")
    vihsd_dev = ds.toxicity_vihsd(data_dir, "dev")
    task.dev["vihsd"] = vihsd_dev.take(_pick(rng, np.arange(len(vihsd_dev)), sizes["vihsd_dev"]))
    tasks["toxicity"] = task

    reintel = ds.misinformation(data_dir, "train")
    # Long posts are the costliest to encode, and social posts are mostly accented already.
    task = _simple("misinformation", reintel, sizes["reintel"], rng, 0.0)
    task.dev["reintel"] = ds.misinformation(data_dir, "dev")
    tasks["misinformation"] = task

    # Weak news = baomoi's education items; the encoded ones are relevance's encoded positives.
    edu_rows = np.flatnonzero(rel.labels == 1)
    items = ds.education_news(data_dir, "train")
    weak = ds.weak_news(items, weak_weight)
    position = {row: i for i, row in enumerate(edu_rows.tolist())}
    rel_enc = tasks["relevance"]
    weak_enc = np.asarray([position[r] for r in rel_enc.encoded if r in position], np.int64)
    weak_strip = np.asarray([position[r] for r in rel_enc.stripped if r in position], np.int64)
    news = News(ds.gold_news(data_dir), weak, weak_enc, weak_strip)
    add_corrections(tasks, news, corrections, correction_weight)
    return tasks, news


def correction_examples(items: Sequence[Correction], head: str, weight: float) -> Examples:
    """One head's corrections as model inputs and labels, each row weighing `weight`."""
    texts = [model_input(c.text, None, None, ds.MAX_CHARS) for c in items]
    values = [c.value for c in items]
    if head == "topics":
        labels = ds._topic_matrix(values)
    elif head in ("sentiment", "risk"):
        codes = SENTIMENTS if head == "sentiment" else RISKS
        labels = np.asarray([codes.index(v) for v in values], dtype=np.int64)
    else:
        labels = np.asarray([int(v) for v in values], dtype=np.int64)
    return Examples(texts, labels, np.full(len(texts), weight, np.float32), source="corrections")


def add_corrections(
    tasks: dict[str, Task], news: News, corrections: Sequence[Correction], weight: float
) -> None:
    """Join corrections to their head's training rows: binary heads and sentiment to the
    task's rows (every correction encoded and stripped), topics and risk to the news."""
    for head in ("relevance", "sentiment", "toxicity", "misinformation", "topics", "risk"):
        items = [c for c in corrections if c.head == head]
        if not items:
            continue
        ex = correction_examples(items, head, weight)
        if head in ("topics", "risk"):
            news.corrections[head] = ex
            continue
        task = tasks[head]
        new = np.arange(len(task.train), len(task.train) + len(ex))
        task.train = Examples.concat([task.train, ex], task.train.source)
        task.encoded = np.concatenate([task.encoded, new])
        task.stripped = np.concatenate([task.stripped, new])
        task.encoded_weights = np.concatenate(
            [task.encoded_weights, np.full(len(ex), weight, np.float32)]
        )
