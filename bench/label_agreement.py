"""Agreement between two blind readings of the same 250 press-office labels (issue 20).

The second reading (data/press-labels/audit_second_reading.csv) was made by another labeller
who never saw the first; agreement and Cohen's kappa say how far the labels can be trusted as a
yardstick. Prints relevance, risk and sentiment agreement / kappa and the topics' mean Jaccard.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from pathlib import Path

LABELS = Path(__file__).resolve().parents[1] / "data" / "press-labels"


def read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return {r["baomoi_id"]: r for r in csv.DictReader(fh)}


def kappa(x: list[str], y: list[str]) -> tuple[float, float]:
    """(observed agreement, Cohen's kappa) of two equal-length label lists."""
    n = len(x)
    observed = sum(p == q for p, q in zip(x, y, strict=True)) / n
    cx, cy = Counter(x), Counter(y)
    expected = sum(cx[c] * cy[c] for c in cx.keys() | cy.keys()) / n**2
    return observed, (observed - expected) / (1 - expected) if expected < 1 else 1.0


def main() -> None:
    second = read(LABELS / "audit_second_reading.csv")
    first: dict[str, dict[str, str]] = {}
    for path in sorted(LABELS.glob("batch_*.csv")):
        first.update(read(path))
    ids = [i for i in second if i in first]
    rel = kappa([first[i]["relevant"] for i in ids], [second[i]["relevant"] for i in ids])
    both = [i for i in ids if first[i]["relevant"] == "1" == second[i]["relevant"]]
    rows = [("relevant", len(ids), *rel)]
    for field in ("risk", "sentiment"):
        got = kappa([first[i][field] for i in both], [second[i][field] for i in both])
        rows.append((field, len(both), *got))
    for name, n, agree, k in rows:
        print(f"{name:<10} n={n:<4} agreement {agree:.3f}  kappa {k:.3f}")
    jaccard = statistics.mean(
        len(set(first[i]["topics"].split("|")) & set(second[i]["topics"].split("|")))
        / len(set(first[i]["topics"].split("|")) | set(second[i]["topics"].split("|")))
        for i in both
    )
    print(f"topics     n={len(both):<4} mean Jaccard {jaccard:.3f}")


if __name__ == "__main__":
    main()
