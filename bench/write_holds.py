"""The longest write transaction of the search index's maintenance paths on SQLite: a full
reindex, optimize (merge steps) and clear, at N documents of our own generated text.

Measured with core.db.write_stats() (from taking the write lock to COMMIT/ROLLBACK);
issue 15's target is 250 ms at 100k documents.

    python bench/write_holds.py [--docs 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCABULARY = (
    "học sinh giáo viên trường lớp phụ huynh tuyển sinh kỳ thi điểm chuẩn học phí sách giáo "
    "khoa chương trình bồi dưỡng thanh tra sở phòng huyện xã tỉnh năm học khai giảng bán trú "
    "nội trú mầm non tiểu học trung học phổ thông đại học cao đẳng nghề thể chất y tế"
)


def _corpus(session: object, n: int) -> None:
    from sqlalchemy import insert

    from core.models import Document, Source

    rng = random.Random(15)
    words = VOCABULARY.split()
    source = Source(name="Báo Thử", url="https://bao.example.vn/rss")
    session.add(source)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    for start in range(0, n, 5000):
        rows = []
        for i in range(start, min(n, start + 5000)):
            url = f"https://bao.example.vn/bai-{i}.html"
            rows.append(
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
                    "source_id": source.id, "url": url, "canonical_url": url,
                    "title": " ".join(rng.choices(words, k=10)) + f" số {i}",
                    "lead": " ".join(rng.choices(words, k=30)),
                    "body": " ".join(rng.choices(words, k=250)),
                    "published_at": t0 + timedelta(minutes=i),
                }
            )  # fmt: skip
        session.execute(insert(Document), rows)  # type: ignore[attr-defined]
        session.commit()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="diemtin-holds-")
    os.environ.update(
        DIEMTIN_ENVIRONMENT="development", DIEMTIN_DATA_DIR=tmp, DIEMTIN_DATABASE_URL="",
        DIEMTIN_SEARCH_BACKEND="sqlite",
    )  # fmt: skip
    from core import db
    from core.search import get_backend
    from core.search.indexer import reindex
    from core.settings import get_settings

    db.migrate()
    session = db.new_session()
    _corpus(session, args.docs)
    backend = get_backend(get_settings())
    reindex(session, backend)  # the first build; then time the maintenance paths
    worst = 0.0
    for name, run in (
        ("reindex", lambda: reindex(session, backend)),
        ("optimize", backend.optimize),
        ("clear", backend.clear),
    ):
        db.reset_write_stats()
        started = time.monotonic()
        run()
        stats = db.write_stats()
        worst = max(worst, stats.longest_s)
        print(
            f"{name}: {time.monotonic() - started:.1f} s in {stats.transactions} write "
            f"transactions, longest {stats.longest_s * 1000:.0f} ms ({stats.longest_where})"
        )
    print(f"longest write transaction at {args.docs} documents: {worst * 1000:.0f} ms")


if __name__ == "__main__":
    main()
