"""How far the baomoi section labels let a relevance model go.

The relevance target (F1 >= 0.95) is measured against baomoi's news section: 1 = "Giáo dục
và Việc làm - Giáo dục", 0 = anything else. This script asks how clean that yardstick is:

1. how many items outside the education section have a school word in their *title*
   (học sinh, giáo viên, hiệu trưởng, mầm non, THPT, ...), against the share inside it;
2. a TF-IDF logistic regression (hashed word 1-2-grams, all training rows, no encoder) and
   its dev F1 at the F1-best threshold (chosen on dev: optimistic), with its false
   positives split by whether their title has a school word and its false negatives by
   whether it has none.

Nothing here is used for training; it explains the relevance row of
bench/classifier_quality.py. Runs in about a minute on 2 cores.

    python bench/relevance_labels.py
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Folded (accent-free) phrases that put a title squarely in a school setting.
SCHOOL_WORDS = (
    "hoc sinh",
    "sinh vien",
    "giao vien",
    "co giao",
    "thay giao",
    "nha giao",
    "hieu truong",
    "mam non",
    "mau giao",
    "tieu hoc",
    "thcs",
    "thpt",
    "truong hoc",
    "hoc duong",
    "tuyen sinh",
    "giao duc",
    "dai hoc",
    "nam hoc",
    "si tu",
)
_SCHOOL_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in SCHOOL_WORDS) + r")\b")


def school_title(title: str) -> bool:
    """Whether a title names pupils, teachers, schools or exams."""
    from core.text import fold

    return bool(_SCHOOL_RE.search(fold(title).lower()))


def main() -> int:
    """Print the label audit and the n-gram model's errors."""
    import torch

    from classifier.features import NgramConfig, document_frequencies, idf_from_df, ngram_batch
    from classifier.training.datasets import EDUCATION_LABEL, read_rows
    from classifier.training.linear import fit_linear
    from classifier.training.metrics import f1_binary
    from core.settings import get_settings

    torch.manual_seed(0)
    data_dir = get_settings().shared_data_dir
    try:
        train, dev = read_rows(data_dir, "baomoi", "train"), read_rows(data_dir, "baomoi", "dev")
    except FileNotFoundError as exc:
        print(f"baomoi is not in {data_dir}: {exc}")
        return 1
    started = time.perf_counter()

    def texts(rows: list[dict[str, str]]) -> list[str]:
        return [f"{r['title'] or ''}. {r['sapo'] or ''}" for r in rows]

    y = np.array([r["label"] == EDUCATION_LABEL for r in train], dtype=np.float32)
    yd = np.array([r["label"] == EDUCATION_LABEL for r in dev], dtype=bool)
    school = np.array([school_title(r["title"] or "") for r in dev])
    print(f"baomoi dev: {len(dev)} rows, {int(yd.sum())} in the education section")
    print(
        f"school word in the title: {100 * school[yd].mean():.1f}% of education-section items, "
        f"{100 * school[~yd].mean():.1f}% of the others ({int(school[~yd].sum())} items)"
    )
    jobs = np.array([r["label"] == "Giáo dục và Việc làm - Việc làm" for r in dev])
    print(
        f"  of those others: {int((school & jobs).sum())} in the jobs section, "
        f"{int((school & ~yd & ~jobs).sum())} elsewhere"
    )

    cfg = NgramConfig(buckets=1 << 18, max_n=2)
    idf = idf_from_df(document_frequencies(texts(train), cfg), len(train))
    bag, dev_bag = ngram_batch(texts(train), cfg, idf), ngram_batch(texts(dev), cfg, idf)
    fit = fit_linear(
        "binary", 1, y, np.ones(len(y)), bag=bag, buckets=cfg.buckets, c=30.0, max_iter=200
    )
    prob = torch.sigmoid(fit.logits(bag=dev_bag).squeeze(-1)).numpy()
    # Threshold chosen on dev itself: an optimistic figure for a baseline, on purpose.
    grid = np.linspace(0.05, 0.95, 91)
    thr = float(grid[np.argmax([f1_binary(yd.astype(int), (prob >= t).astype(int)) for t in grid])])
    pred = prob >= thr
    tp, fp, fn = int((pred & yd).sum()), int((pred & ~yd).sum()), int((~pred & yd).sum())
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    print(f"TF-IDF n-gram model (no encoder), threshold {thr:.2f}: F1 {100 * f1:.1f}")
    print(
        f"  false positives {fp}: {int((pred & ~yd & school).sum())} have a school word "
        f"in the title"
    )
    print(f"  false negatives {fn}: {int((~pred & yd & ~school).sum())} have none")
    # If every false positive with a school word were in fact education news, F1 would be:
    fp_clean = fp - int((pred & ~yd & school).sum())
    tp_fixed = tp + fp - fp_clean
    ceiling = 2 * tp_fixed / max(2 * tp_fixed + fp_clean + fn, 1)
    print(f"  F1 if those school-titled false positives counted as education: {100 * ceiling:.1f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
