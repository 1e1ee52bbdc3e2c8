"""Choose the baomoi train rows the press office labels next, where a label teaches most.

The pool mixes four kinds of row (issue 20): the education section (which holds items a
press office does not want), the jobs section (graduate employment is a hard call), rows of
other sections that name a school word (where relevance recall was lost) and a few plain
other rows (negatives, and the odd hidden education story). Rows are chosen by rule only;
the labels themselves are read and written by people, one row at a time, with
../shared/docs/labelling-guide.md. Batch files hold the text and stay outside the repo; the
repo keeps ids and labels only (data/press-labels/)."""

from __future__ import annotations

import argparse
import csv
import random
import re
from pathlib import Path

EDU = "Giáo dục và Việc làm - Giáo dục"
JOBS = "Giáo dục và Việc làm - Việc làm"
SCHOOL_WORDS = re.compile(
    r"\b(trường|học sinh|sinh viên|giáo viên|thầy giáo|cô giáo|hiệu trưởng|học phí|tuyển sinh|"
    r"thi tốt nghiệp|kỳ thi|đề thi|lớp \d|đại học|cao đẳng|mầm non|giáo dục|học bổng|du học|"
    r"sách giáo khoa|bạo lực học đường|học đường|học trò|phụ huynh|nhà giáo|bộ gd|sở gd|"
    r"thí sinh|điểm chuẩn|dạy thêm|trẻ em|học viên)\b",
    re.IGNORECASE,
)
# How many of each kind per round. Round 1: 3,250 rows (batches 01-13). Round 2 (batches
# 14-24) leans to education items: round 1 held ~700 relevant rows, too few to learn 16 topics.
ROUNDS = {
    1: {"edu_section": 900, "jobs_section": 400, "school_word": 1500, "other": 450},
    2: {"edu_section": 1500, "jobs_section": 250, "school_word": 1000, "other": 0},
}
BATCH = 250


def kind(row: dict[str, str]) -> str:
    if row["label"] == EDU:
        return "edu_section"
    if row["label"] == JOBS:
        return "jobs_section"
    return "school_word" if SCHOOL_WORDS.search(f"{row['title']} {row['sapo']}") else "other"


def choose(rows: list[dict[str, str]], round_: int = 1, seed: int = 20) -> list[dict[str, str]]:
    """The pool of one round; a later round never repeats an earlier round's rows."""
    taken: set[str] = set()
    for earlier in range(1, round_):
        taken |= {r["baomoi_id"] for r in choose(rows, earlier, seed)}
    rng = random.Random(seed + round_ - 1)
    quota = ROUNDS[round_]
    by_kind: dict[str, list[dict[str, str]]] = {k: [] for k in quota}
    for row in rows:
        if row["title"].strip() and row["baomoi_id"] not in taken:
            by_kind[kind(row)].append(row)
    pool = []
    for k, n in quota.items():
        pool += [{**r, "pool_kind": k} for r in rng.sample(by_kind[k], min(n, len(by_kind[k])))]
    rng.shuffle(pool)
    return pool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/baomoi/train.csv"))
    ap.add_argument("--out", type=Path, required=True, help="folder for batch_NN.csv (text)")
    ap.add_argument("--round", type=int, default=1, choices=sorted(ROUNDS))
    args = ap.parse_args()
    with args.data.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # Batch numbers go on from the earlier rounds' last batch.
    first = 1 + sum(-(-sum(ROUNDS[r].values()) // BATCH) for r in range(1, args.round))
    pool = choose(rows, args.round)
    args.out.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(pool), BATCH):
        path = args.out / f"batch_{first + i // BATCH:02d}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, ["baomoi_id", "title", "sapo", "label", "pool_kind"])
            w.writeheader()
            w.writerows(pool[i : i + BATCH])
    print(f"{len(pool)} rows in {(len(pool) + BATCH - 1) // BATCH} batches under {args.out}")


if __name__ == "__main__":
    main()
