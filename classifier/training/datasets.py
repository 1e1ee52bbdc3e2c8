"""The labelled CSVs of ../shared/data (docs data.md) as model inputs and label arrays.

Every text goes through `classifier.normalize.model_input`, exactly as the service does.
Nothing here copies dataset text anywhere: it is read at training and benchmark time.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.baseline import BaselineClassifier
from classifier.features import engagement_vector
from classifier.normalize import model_input
from core.taxonomy import RISKS, SENTIMENTS, TOPICS

EDUCATION_LABEL = "Giáo dục và Việc làm - Giáo dục"
MAX_CHARS = 2000
# Some social posts in ReINTEL exceed csv's default 128 KB field limit.
csv.field_size_limit(min(sys.maxsize, 1 << 30))


class MissingDataError(FileNotFoundError):
    """A dataset folder of docs/data.md is absent."""


@dataclass
class Examples:
    """Model inputs with labels: ints (binary/multiclass) or a 0/1 matrix (multilabel)."""

    texts: list[str]
    labels: np.ndarray
    weights: np.ndarray
    extras: np.ndarray | None = None
    source: str = ""
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: Sequence[int] | np.ndarray) -> Examples:
        """The given rows, in order."""
        idx = np.asarray(index, dtype=np.int64)
        return Examples(
            [self.texts[i] for i in idx.tolist()],
            self.labels[idx],
            self.weights[idx],
            None if self.extras is None else self.extras[idx],
            self.source,
            {k: v[idx] for k, v in self.meta.items()},
        )

    @staticmethod
    def concat(parts: Sequence[Examples], source: str = "") -> Examples:
        """Rows of several Examples one after another (extras zero-filled where absent)."""
        extras = None
        if any(p.extras is not None for p in parts):
            dim = next(p.extras.shape[1] for p in parts if p.extras is not None)
            extras = np.concatenate(
                [p.extras if p.extras is not None else np.zeros((len(p), dim)) for p in parts]
            ).astype(np.float32)
        return Examples(
            [t for p in parts for t in p.texts],
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.weights for p in parts]).astype(np.float32),
            extras,
            source or "+".join(p.source for p in parts),
        )


def read_rows(data_dir: Path, name: str, split: str) -> list[dict[str, str]]:
    """The rows of <data_dir>/<name>/<split>.csv, or MissingDataError."""
    path = Path(data_dir) / name / f"{split}.csv"
    if not path.is_file():
        raise MissingDataError(
            f"{path} is missing: put the datasets of docs/data.md under {data_dir} "
            "or set DIEMTIN_SHARED_DATA_DIR"
        )
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _examples(texts: list[str], labels: Sequence[int], source: str) -> Examples:
    return Examples(
        texts, np.asarray(labels, dtype=np.int64), np.ones(len(texts), np.float32), source=source
    )


def relevance(data_dir: Path, split: str) -> Examples:
    """baomoi: title + lead; 1 = the education section, 0 = any other (jobs included)."""
    rows = read_rows(data_dir, "baomoi", split)
    texts = [model_input(r["title"], r["sapo"], None, MAX_CHARS) for r in rows]
    return _examples(texts, [int(r["label"] == EDUCATION_LABEL) for r in rows], "baomoi")


def education_news(data_dir: Path, split: str) -> list[tuple[str, str]]:
    """(title, lead) of baomoi's education-section items: the weakly labelled news."""
    rows = read_rows(data_dir, "baomoi", split)
    return [(r["title"], r["sapo"]) for r in rows if r["label"] == EDUCATION_LABEL]


def sentiment_vsfc(data_dir: Path, split: str) -> Examples:
    """UIT-VSFC students' feedback; 0/1/2 = negative/neutral/positive = SENTIMENTS order."""
    rows = read_rows(data_dir, "uit-vsfc", split)
    texts = [model_input(r["text"], None, None, MAX_CHARS) for r in rows]
    return _examples(texts, [int(r["sentiment"]) for r in rows], "uit-vsfc")


def toxicity_victsd(data_dir: Path, split: str) -> Examples:
    """UIT-ViCTSD reader comments; 1 = toxic."""
    rows = read_rows(data_dir, "uit-victsd", split)
    texts = [model_input(r["text"], None, None, MAX_CHARS) for r in rows]
    return _examples(texts, [int(r["toxicity"]) for r in rows], "uit-victsd")


def toxicity_vihsd(data_dir: Path, split: str) -> Examples:
    """ViHSD social posts; offensive (1) and hate (2) both count as toxic."""
    rows = read_rows(data_dir, "vihsd", split)
    texts = [model_input(r["text"], None, None, MAX_CHARS) for r in rows]
    ex = _examples(texts, [int(int(r["label"]) > 0) for r in rows], "vihsd")
    ex.meta["label3"] = np.asarray([int(r["label"]) for r in rows], dtype=np.int64)
    return ex


def misinformation(data_dir: Path, split: str) -> Examples:
    """ReINTEL posts; 1 = unreliable; extras = engagement (likes, comments, shares)."""
    rows = read_rows(data_dir, "reintel", split)
    texts = [model_input(r["text"], None, None, MAX_CHARS) for r in rows]
    ex = _examples(texts, [int(r["label"]) for r in rows], "reintel")
    ex.extras = np.asarray(
        [
            engagement_vector(r["num_like_post"], r["num_comment_post"], r["num_share_post"])
            for r in rows
        ],
        dtype=np.float32,
    )
    return ex


@dataclass
class NewsLabels:
    """Topics / risk / sentiment of news items (press-office gold or weak)."""

    texts: list[str]
    topics: np.ndarray  # [n, len(TOPICS)] 0/1
    risk: np.ndarray  # index into RISKS
    sentiment: np.ndarray  # index into SENTIMENTS
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: Sequence[int] | np.ndarray) -> NewsLabels:
        """The given rows, in order."""
        idx = np.asarray(index, dtype=np.int64)
        return NewsLabels(
            [self.texts[i] for i in idx.tolist()],
            self.topics[idx],
            self.risk[idx],
            self.sentiment[idx],
            self.weights[idx],
        )

    def head(self, name: str) -> Examples:
        """One head's view of these rows."""
        labels = {"topics": self.topics, "risk": self.risk, "sentiment": self.sentiment}[name]
        return Examples(self.texts, labels, self.weights, source=f"news-{name}")


def _topic_matrix(codes: Sequence[Sequence[str]]) -> np.ndarray:
    index = {c: i for i, c in enumerate(TOPICS)}
    out = np.zeros((len(codes), len(TOPICS)), dtype=np.float32)
    for row, labels in enumerate(codes):
        for code in labels:
            out[row, index[code]] = 1.0
    return out


def gold_news(data_dir: Path, *, unsure_weight: float = 0.5) -> NewsLabels:
    """edu-news dev: the press office's own labels; `confident = 0` rows weigh less."""
    rows = read_rows(data_dir, "edu-news", "dev")
    return NewsLabels(
        [model_input(r["title"], r["sapo"], None, MAX_CHARS) for r in rows],
        _topic_matrix([[c for c in r["topics"].split("|") if c] for r in rows]),
        np.asarray([RISKS.index(r["risk"]) for r in rows], dtype=np.int64),
        np.asarray([SENTIMENTS.index(r["sentiment"]) for r in rows], dtype=np.int64),
        np.asarray([1.0 if r["confident"] == "1" else unsure_weight for r in rows], np.float32),
    )


def weak_news(items: Sequence[tuple[str, str]], weight: float) -> NewsLabels:
    """Education news labelled by the keyword baseline (title + lead), each row `weight`."""
    texts = [model_input(title, lead, None, MAX_CHARS) for title, lead in items]
    preds = BaselineClassifier().predict([f"{t}\n{s}" for t, s in items])
    return NewsLabels(
        texts,
        _topic_matrix([p.topics for p in preds]),
        np.asarray([RISKS.index(p.risk) for p in preds], dtype=np.int64),
        np.asarray([SENTIMENTS.index(p.sentiment) for p in preds], dtype=np.int64),
        np.full(len(texts), weight, dtype=np.float32),
    )
