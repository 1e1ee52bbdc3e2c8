"""The `classify_documents` worker path: documents per second, one task per ingest call
(every id at once) against one task per document, on a fresh SQLite database.

Timed: loading the documents, the committed model's predictions, storing the Classification
rows and committing (the model itself is loaded before timing, as a warm worker has it).
Documents are our own sentences, repeated to article length.

    python bench/classify_task.py [--docs 96]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "Phụ huynh phản ánh trường tiểu học thu nhiều khoản ngoài quy định đầu năm học.",
    "Sở Giáo dục và Đào tạo công bố điểm chuẩn vào lớp 10 các trường công lập.",
    "Học sinh giỏi quốc gia của tỉnh được khen thưởng trong buổi lễ sáng nay.",
    "Giáo viên mầm non vùng khó khăn được hỗ trợ thêm phụ cấp theo quy định mới.",
    "Nhà trường tổ chức diễn tập phòng cháy chữa cháy cho toàn thể học sinh.",
]


def main() -> int:
    """Print docs/s for per-document tasks, then for one task per ingest call (last)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=96)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="diemtin-bench-"))
    # The encoder `make encoder` built, unless DIEMTIN_ENCODER_DIR names another.
    os.environ.setdefault("DIEMTIN_ENCODER_DIR", str(ROOT / "var" / "models" / "e5-small"))
    os.environ["DIEMTIN_DATA_DIR"] = str(data_dir)
    # Ingest only prepares the documents here; the model runs in the timed part.
    os.environ["DIEMTIN_CLASSIFIER_MODEL_ENABLED"] = "false"
    from sqlalchemy import select

    from classifier.baseline import BaselineClassifier
    from classifier.service import get_classifier
    from core import db
    from core.models import Document, Source
    from core.settings import get_settings
    from crawlers.classify import classify_stored
    from crawlers.connectors.base import FetchedItem
    from crawlers.pipeline import ingest

    settings = get_settings()
    classifier = get_classifier(settings)
    if isinstance(classifier, BaselineClassifier):
        print("no trained artefact: nothing to measure")
        return 1
    classifier.load()
    db.migrate()
    with db.new_session() as session:
        source = Source(name="Bench", url="http://127.0.0.1:9/rss.xml")
        session.add(source)
        session.commit()
        items = [
            FetchedItem(
                url=f"https://bench.example.vn/bai-{i}.html",
                title=f"{i}. {SENTENCES[i % len(SENTENCES)]}",
                lead=SENTENCES[(i + 1) % len(SENTENCES)],
                body=" ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(12)),
                published_at=datetime(2025, 9, 1, tzinfo=UTC),
            )
            for i in range(2 * args.docs)
        ]
        ingest(session, source, items)
        ids = list(session.scalars(select(Document.id).order_by(Document.id)))
    one_by_one, batched = ids[: args.docs], ids[args.docs :]
    print(f"model {classifier.model_version}, {args.docs} documents per run")
    with db.new_session() as session:
        started = time.perf_counter()
        for doc_id in one_by_one:
            classify_stored(session, [doc_id], classifier)
        per_doc = args.docs / (time.perf_counter() - started)
    print(f"one task per document: {per_doc:.1f} docs/s")
    with db.new_session() as session:
        started = time.perf_counter()
        done = classify_stored(session, batched, classifier)
        per_call = len(done) / (time.perf_counter() - started)
    print(f"one task per ingest call: {per_call:.1f} docs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
