"""The press office's labels (data/press-labels/batch_NN.csv) as training rows in four kinds.

Each batch file holds ids of baomoi *train* rows and the labels press-office labellers gave
them, reading title + lead one by one with ../shared/docs/labelling-guide.md. The text is
never in the repo: it is joined here from ../shared/data/baomoi/train.csv. Every new batch
committed is picked up on the next run (the files are globbed, later batches win an id).

One model serves every kind of text (classifier.kinds), so each labelled item is trained
as four texts, one per kind:
- headline: the title alone (headline-only feeds, another paper's front page);
- title_lead: title + lead, as the labellers read it;
- body: the lead alone, as an article body begins (no headline to lean on);
- social: title and lead as one lower-case line, half of them typed without diacritics.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.kinds import KINDS
from classifier.normalize import model_input
from classifier.training.datasets import MAX_CHARS, _topic_matrix, read_rows
from core.taxonomy import RISKS, SENTIMENTS
from core.text import strip_accents

LABELS_DIR = Path(__file__).resolve().parents[2] / "data" / "press-labels"
UNSURE_WEIGHT = 0.5
# Share of items whose text of each kind is encoded (see dense_rows).
DENSE_SHARE = {"headline": 0.15, "title_lead": 0.85, "body": 0.06, "social": 0.06}


def variant_text(kind: str, title: str, lead: str) -> str:
    """The model input of one labelled item written as `kind` of text."""
    if kind == "headline":
        return model_input(title, None, None, MAX_CHARS)
    if kind == "title_lead":
        return model_input(title, lead, None, MAX_CHARS)
    if kind == "body":
        # An item without a lead has no body-like text: its title stands in.
        return model_input(None, lead or title, None, MAX_CHARS)
    if kind == "social":
        line = " ".join(p for p in (title, lead) if p).lower()
        # Half the items (fixed by their title) as typed without diacritics.
        if zlib.crc32(title.encode()) % 2:
            line = strip_accents(line)
        return model_input(line, None, None, MAX_CHARS)
    raise ValueError(f"unknown kind {kind!r}")


@dataclass
class PressItems:
    """Labelled items (one row each) with their title and lead."""

    ids: list[str]
    titles: list[str]
    leads: list[str]
    relevant: np.ndarray  # 0/1
    topics: np.ndarray  # [n, 16] 0/1 (zeros where not relevant)
    risk: np.ndarray  # index into RISKS, -1 where not relevant
    sentiment: np.ndarray  # index into SENTIMENTS, -1 where not relevant
    weights: np.ndarray  # 1, or UNSURE_WEIGHT where confident = 0

    def __len__(self) -> int:
        return len(self.ids)

    def texts(self, kind: str, rows: Sequence[int] | np.ndarray | None = None) -> list[str]:
        """The items (or some rows) written as `kind`."""
        idx = range(len(self)) if rows is None else np.asarray(rows).tolist()
        return [variant_text(kind, self.titles[i], self.leads[i]) for i in idx]


def read_labels(labels_dir: Path = LABELS_DIR) -> dict[str, dict[str, str]]:
    """baomoi_id -> label row over every batch file (a later batch wins an id)."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(Path(labels_dir).glob("batch_*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("baomoi_id") and row.get("relevant") in ("0", "1"):
                    out[row["baomoi_id"]] = row
    return out


def _code(value: str, codes: Sequence[str]) -> int:
    return codes.index(value) if value in codes else -1


def _labelled(
    ids: list[str],
    titles: list[str],
    leads: list[str],
    rows: list[dict[str, str]],
    weights: np.ndarray,
) -> PressItems:
    """PressItems from label rows in the press office's columns (relevant, topics, risk,
    sentiment); topics/risk/sentiment count only on relevant rows."""
    rel = [r["relevant"] == "1" for r in rows]
    return PressItems(
        ids,
        titles,
        leads,
        np.asarray(rel, dtype=np.int64),
        _topic_matrix(
            [
                [c for c in r["topics"].split("|") if c] if ok else []
                for r, ok in zip(rows, rel, strict=True)
            ]
        ),
        np.asarray(
            [_code(r["risk"], RISKS) if ok else -1 for r, ok in zip(rows, rel, strict=True)]
        ),
        np.asarray(
            [
                _code(r["sentiment"], SENTIMENTS) if ok else -1
                for r, ok in zip(rows, rel, strict=True)
            ]
        ),
        weights,
    )


def press_items(data_dir: Path, labels_dir: Path = LABELS_DIR) -> PressItems:
    """Every labelled item joined with its baomoi train text (ids not found are skipped)."""
    labels = read_labels(labels_dir)
    text = {r["baomoi_id"]: r for r in read_rows(data_dir, "baomoi", "train")}
    ids = [i for i in labels if i in text and text[i]["title"].strip()]
    rows = [labels[i] for i in ids]
    weights = np.asarray(
        [1.0 if r.get("confident", "1") != "0" else UNSURE_WEIGHT for r in rows], np.float32
    )
    return _labelled(
        ids, [text[i]["title"] for i in ids], [text[i]["sapo"] or "" for i in ids], rows, weights
    )


def relevance_dev(data_dir: Path) -> PressItems:
    """edu-relevance dev (the press office's yardstick; for measuring only, never training)."""
    rows = read_rows(data_dir, "edu-relevance", "dev")
    return _labelled(
        [r["baomoi_id"] for r in rows],
        [r["title"] for r in rows],
        [r["sapo"] or "" for r in rows],
        rows,
        np.ones(len(rows), np.float32),
    )


def dense_rows(items: PressItems, kind: str) -> np.ndarray:
    """The items whose `kind` text is encoded and trained on.

    Encoding runs at ~3-5 texts/s on 2 shared cores, so headline, body and social texts are
    encoded for a fixed share of items; the share is drawn by id, so a new batch keeps the
    earlier rows' choice (and their cached vectors)."""
    share = DENSE_SHARE[kind]
    if share >= 1.0:
        return np.arange(len(items))
    draw = np.asarray([zlib.crc32(f"{kind}/{i}".encode()) / 2**32 for i in items.ids])
    return np.flatnonzero(draw < share)


def encoding_order(data_dir: Path, labels_dir: Path = LABELS_DIR) -> list[tuple[str, list[str]]]:
    """Every text a v3 run embeds, most useful first (an interrupted prefill helps most)."""
    items, dev = press_items(data_dir, labels_dir), relevance_dev(data_dir)
    gold = [
        model_input(r["title"], r["sapo"], None, MAX_CHARS)
        for r in read_rows(data_dir, "edu-news", "dev")
    ]
    out = [("press/title_lead", items.texts("title_lead")), ("edu-news", gold)]
    out += [(f"edu-relevance/{k}", dev.texts(k)) for k in KINDS]
    out += [
        (f"press/{k}", items.texts(k, dense_rows(items, k))) for k in KINDS if k != "title_lead"
    ]
    return out


__all__ = [
    "KINDS",
    "PressItems",
    "encoding_order",
    "press_items",
    "read_labels",
    "relevance_dev",
    "variant_text",
]
