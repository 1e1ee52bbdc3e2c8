"""What v3 is measured by, shared by its training command and bench/classifier_quality.py.

- edu-relevance dev (the press office's yardstick, 406 items; measuring only, nothing is
  chosen on it): F1 / precision / recall of the relevance flag, with the items written as
  each kind of text and decided at that kind's threshold;
- our own rumour / denial / satire / incident items (tests/fixtures/classifier/
  press_items.json): how many expected labels the service-side decision gets right.
Both run the heads on pooled vectors from the run's cache, exactly as the service computes
them (bench/classifier_quality.py spot-checks that against the service).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.heads import MultiHeadModel
from classifier.kinds import KINDS, kind_threshold
from classifier.normalize import prepare_text
from classifier.training.evaluate import binary_report
from classifier.training.press import relevance_dev
from classifier.training.press_run import PressRun
from core.taxonomy import RISKS

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "classifier"
PRESS_ITEMS = FIXTURES / "press_items.json"


def probabilities(model: MultiHeadModel, run: PressRun, texts: list[str]) -> dict[str, np.ndarray]:
    """Calibrated probabilities of every head for texts (already model inputs)."""
    pooled = torch.from_numpy(run.pooled(texts))
    bag = run.bag(texts)
    with torch.inference_mode():
        probs = model.probabilities(model(pooled=pooled, ngrams=bag))
    return {k: v.numpy() for k, v in probs.items()}


def relevance_dev_report(model: MultiHeadModel, run: PressRun, data_dir: Path) -> dict[str, Any]:
    """edu-relevance dev relevance per kind of text, at each kind's threshold."""
    dev = relevance_dev(data_dir)
    thresholds = model.config.thresholds
    out = {}
    for kind in KINDS:
        p = probabilities(model, run, dev.texts(kind))["relevance"]
        out[kind] = binary_report(dev.relevant, p, kind_threshold(thresholds, "relevance", kind))
    return out


def fixture_items(path: Path = PRESS_ITEMS) -> list[dict[str, Any]]:
    """Our own labelled items (text, kind, category and expected labels)."""
    return list(json.loads(path.read_text("utf-8"))["items"])


def fixture_report(
    model: MultiHeadModel, run: PressRun, path: Path = PRESS_ITEMS
) -> dict[str, Any]:
    """Expected labels met on our own items: overall, per field and per category."""
    items = fixture_items(path)
    texts = [prepare_text(i["text"], model.config.max_chars) for i in items]
    p = probabilities(model, run, texts)
    thr = model.config.thresholds
    checks: dict[str, list[bool]] = {"relevant": [], "risk": [], "unreliable": []}
    by_category: dict[str, list[bool]] = {}
    misses = []
    for n, item in enumerate(items):
        kind = item["kind"]
        got = {
            "relevant": int(p["relevance"][n] >= kind_threshold(thr, "relevance", kind)),
            "risk": RISKS[int(np.argmax(p["risk"][n]))],
            "unreliable": int(
                p["misinformation"][n] >= kind_threshold(thr, "misinformation", kind)
            ),
        }
        for field, value in got.items():
            if field in item:
                ok = value == item[field]
                checks[field].append(ok)
                by_category.setdefault(item["category"], []).append(ok)
                if not ok:
                    misses.append(f"{item['category']}/{field}: {item['text'][:40]!r} -> {value}")
    every = [ok for values in checks.values() for ok in values]
    rate = lambda v: float(np.mean(v)) if v else 0.0  # noqa: E731
    return {
        "items": len(items),
        "checks": len(every),
        "score": rate(every),
        "per_field": {k: rate(v) for k, v in checks.items()},
        "per_category": {k: rate(v) for k, v in sorted(by_category.items())},
        "misses": misses,
    }
