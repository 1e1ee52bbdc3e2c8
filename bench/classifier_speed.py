"""Classifier throughput: docs/s at 128 and 256 tokens, batch 32, for the reference (torch)
and the fast path (int8 ONNX), how often they agree on each label, and peak RSS.

Documents are real article bodies from ../shared/data/vntc-articles (our own sentences when
it is absent), so every one fills the token budget. The full service path is timed:
normalisation, tokenizer, e5 encoder, n-gram features, heads, calibration, decoding.

    python bench/classifier_speed.py [--docs 256] [--agree 2000] [--runtimes torch,onnx]
        [--repeat 3] [--student auto|off|DIR]

torch is the reference (the full adapted encoder); onnx is what the service runs by default:
the int8 graph of the distilled student when one matches the artefact (`--student`, default
the setting), else of the full encoder. Peak RSS is the whole process's: run
`--runtimes onnx --agree 0` alone for the service's own figure (the int8 build runs in a child
process).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FALLBACK = (
    "Sở Giáo dục và Đào tạo tổ chức hội nghị tổng kết năm học, biểu dương các tập thể và cá "
    "nhân có thành tích xuất sắc, triển khai kế hoạch năm học mới với trọng tâm đổi mới "
    "chương trình, sách giáo khoa, nâng cao chất lượng đội ngũ giáo viên. "
) * 8


def documents(data_dir: Path, n: int) -> list[str]:
    """n long article texts."""
    path = data_dir / "vntc-articles" / "sample.csv"
    if not path.is_file():
        return [f"{i}. {FALLBACK}" for i in range(n)]
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8", newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    return [texts[i % len(texts)] for i in range(n)]


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def agreement_texts(data_dir: Path, n: int) -> list[str]:
    """Dev rows of every head's data (a mix of comments, titles and posts), n in all."""
    from classifier.training.datasets import (
        misinformation,
        relevance,
        sentiment_vsfc,
        toxicity_victsd,
    )

    parts = []
    for load in (sentiment_vsfc, relevance, toxicity_victsd, misinformation):
        try:
            parts.append(load(data_dir, "dev").texts)
        except FileNotFoundError:
            continue
    if not parts:
        return [f"{i}. {FALLBACK}" for i in range(n)]
    each = max(1, n // len(parts))
    return [t for texts in parts for t in texts[:each]]


def labels_of(pred: object) -> dict[str, object]:
    """The decisions a user sees, per head."""
    flags = getattr(pred, "flags", {})
    return {
        "relevance": flags.get("relevant"),
        "topics": tuple(getattr(pred, "topics", ())),
        "sentiment": getattr(pred, "sentiment", None),
        "risk": getattr(pred, "risk", None),
        "toxicity": flags.get("toxic"),
        "misinformation": flags.get("unreliable"),
    }


def main() -> int:
    """Print docs/s per runtime and max length, label agreement, peak RSS last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--agree", type=int, default=2000, help="dev texts for agreement")
    parser.add_argument("--runtimes", default="torch,onnx")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed passes per length (median printed)"
    )
    parser.add_argument("--student", default=None, help="auto, off or a student folder")
    args = parser.parse_args()

    import torch

    from classifier.artefact import artefact_dir, has_artefact
    from classifier.service import TrainedClassifier
    from core.settings import get_settings

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = get_settings()
    if args.student is not None:
        settings = settings.copy_with(classifier={"student": args.student})
    path = artefact_dir(settings)
    if not has_artefact(path):
        print(f"no artefact at {path}: run `make train` first")
        return 1
    docs = documents(settings.shared_data_dir, args.docs)
    dev = agreement_texts(settings.shared_data_dir, args.agree)
    print(
        f"{len(docs)} docs; torch threads {torch.get_num_threads()}; {os.cpu_count()} CPUs; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    decisions: dict[str, list[dict[str, object]]] = {}
    for runtime in args.runtimes.split(","):
        clf = TrainedClassifier(path, settings, batch_size=32, runtime=runtime)
        started = time.perf_counter()
        model = clf.load()
        student = getattr(clf, "student", None)
        layers = "12 layers" if student is None else f"student {student.name}"
        print(
            f"[{runtime}] artefact {clf.model_version} ({layers}): loaded in "
            f"{time.perf_counter() - started:.1f} s; peak RSS so far {peak_rss_mb():.0f} MB"
        )
        trained_length = model.config.max_length
        for length in (128, 256):
            model.config.max_length = length
            clf.predict(docs[:32])  # warm-up: allocator, thread pool
            rates = []
            for _ in range(max(1, args.repeat)):
                started = time.perf_counter()
                clf.predict(docs)
                rates.append(len(docs) / (time.perf_counter() - started))
            # This VM's neighbours move one pass by +-15%: the median of several, and the range.
            print(
                f"[{runtime}] max_length {length}: {statistics.median(rates):6.1f} docs/s "
                f"(batch 32; median of {len(rates)}, {min(rates):.1f}-{max(rates):.1f})"
            )
        model.config.max_length = trained_length
        if len(dev):
            decisions[runtime] = [labels_of(p) for p in clf.predict(dev)]
        del clf, model
    if "torch" in decisions and "onnx" in decisions:
        ref, fast = decisions["torch"], decisions["onnx"]
        heads = list(ref[0])
        same = {h: sum(r[h] == f[h] for r, f in zip(ref, fast, strict=True)) for h in heads}
        for h in heads:
            print(f"agreement {h}: {100 * same[h] / len(ref):.1f}%")
        total = sum(same.values()) / (len(ref) * len(heads))
        n = f"{len(ref)} dev texts x {len(heads)} heads"
        print(f"agreement, all labels ({n}): {100 * total:.2f}%")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
