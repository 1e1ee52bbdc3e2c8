"""Choose the heads' L2 strengths on training rows: K-fold cross-validation per head and C.

Builds the frozen run of `make train` (e5s-v2's adapted encoder, the subsets its
metrics.json records; embeddings from the training cache, computed when missing), then for
each head and each (c_ngram, c_dense) pair fits the stacked head
(classifier.training.linear) on K-1
folds of the training rows and scores the held-out fold's accented rows: ROC-AUC for binary
heads, macro F1 for sentiment. A row and its accent-stripped copy share a fold. No dev row
is used.

    python bench/heads_cv.py [--heads misinformation,sentiment,toxicity,relevance]
        [--c-dense 0.003,0.01] [--c-ngram 10] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Print one CV score per head and C pair."""
    from classifier.artefact import MODELS_DIR
    from classifier.training.args import TrainArgs
    from classifier.training.frozen_run import Frozen
    from classifier.training.linear import StackData, fit_stacked
    from classifier.training.metrics import f1_macro, roc_auc

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--heads", default="misinformation,sentiment,toxicity,relevance")
    parser.add_argument("--c-dense", default="0.003,0.01")
    parser.add_argument("--c-ngram", default="10")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--adapter-from", type=Path, default=MODELS_DIR / "e5s-v2")
    args = parser.parse_args()
    # The artefact's own training run says which rows were encoded (as classifier_quality.py
    # reads them), so this scores the rows `make train` fits on.
    trained = json.loads((args.adapter_from / "metrics.json").read_text("utf-8"))["args"]
    targs = TrainArgs(
        mode="frozen",
        adapter_from=args.adapter_from,
        compare_variants=False,
        subsets=trained["subsets"],
    ).resolved()
    run = Frozen(targs)
    k_folds = args.folds
    print(f"{'head':16} {'c_ngram':>8} {'c_dense':>8} {'CV score':>9} {'(metric)':12} {'s':>5}")
    for name in args.heads.split(","):
        data = run.stack(name, [run.part(run.tasks[name])], 0.0)
        n = len(data.y)
        fold = np.random.default_rng(7).integers(0, k_folds, size=n)
        # Each training row's first dense row is its accented one (stripped copies follow).
        first: dict[int, int] = {}
        for i, r in enumerate(data.dense_rows.tolist()):
            first.setdefault(r, i)
        metric = "roc_auc" if data.kind == "binary" else "macro_f1"

        def part(mask: np.ndarray, data: StackData = data) -> StackData:
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
                None if data.extras is None else data.extras[keep],
            )

        for c_ngram in (float(x) for x in args.c_ngram.split(",")):
            for c_dense in (float(x) for x in args.c_dense.split(",")):
                started = time.perf_counter()
                scores = []
                for k in range(k_folds):
                    head = fit_stacked(
                        part(fold != k),
                        buckets=run.ngram_config.buckets,
                        c_dense=c_dense,
                        c_ngram=c_ngram,
                        seed=targs.seed,
                    )
                    rows = np.array(sorted(r for r in first if fold[r] == k))
                    dense_idx = np.array([first[r] for r in rows])
                    extras = None if data.extras is None else data.extras[dense_idx]
                    z = head.logits(data.dense[dense_idx], data.bag.rows(rows), extras).numpy()
                    y = data.y[rows]
                    if data.kind == "binary":
                        scores.append(roc_auc(y, z.reshape(-1)))
                    else:
                        scores.append(f1_macro(y, z.argmax(axis=1), z.shape[1]))
                took = time.perf_counter() - started
                print(
                    f"{name:16} {c_ngram:8g} {c_dense:8g} {np.mean(scores):9.4f} "
                    f"{metric:12} {took:5.0f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
