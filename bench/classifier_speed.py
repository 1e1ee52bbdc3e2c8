"""Classifier throughput: documents per second at 128 and 256 tokens, batch 32, peak RSS.

Documents are real article bodies from ../shared/data/vntc-articles (our own sentences when
it is absent), so every one fills the token budget. The full service path is timed:
normalisation, tokenizer, e5 encoder, n-gram features, heads, calibration, decoding.

    python bench/classifier_speed.py [--docs 256] [--threads N]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
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


def main() -> int:
    """Print docs/s per max length; peak RSS last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = parser.parse_args()

    import torch

    from classifier.service import Classifier, artefact_dir, has_artefact
    from core.settings import get_settings

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = get_settings()
    path = artefact_dir(settings)
    if not has_artefact(path):
        print(f"no artefact at {path}: run `make train` first")
        return 1
    docs = documents(settings.shared_data_dir, args.docs)
    clf = Classifier(path, settings, batch_size=32)
    model = clf.load()
    print(
        f"artefact {clf.model_version}; {len(docs)} docs; torch threads "
        f"{torch.get_num_threads()}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}"
    )
    print(f"rss after load: {peak_rss_mb():.0f} MB")
    trained_length = model.config.max_length
    for length in (128, 256):
        model.config.max_length = length
        clf.predict(docs[:32])  # warm-up: allocator, thread pool
        started = time.perf_counter()
        clf.predict(docs)
        elapsed = time.perf_counter() - started
        print(f"max_length {length}: {len(docs) / elapsed:6.1f} docs/s  (batch 32)")
    model.config.max_length = trained_length
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
