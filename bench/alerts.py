"""Alert evaluation benchmark: throughput and store-to-alert delay.

1. Throughput: a temporary SQLite database holds `--docs` stored, classified documents in
   stories (our own generated Vietnamese text), `--rules` saved-search rules and `--units`
   units. alerts.detection.evaluate.evaluate (unit linking, every rule, story hot score,
   alert upserts, one commit per document) runs on `--sample` of those documents;
   documents/s is printed.
   Target: >= 500 documents/s. The fact bank is empty here (it adds one e5 pass per document
   when refuted facts exist; that cost is the encoder's, see bench/classifier_speed.py).
2. Delay: a real Celery worker (embedded SQLite broker, queue "alerts") runs while items
   arrive through crawlers.pipeline.ingest, which queues evaluate_document by name; for each
   item, (moment its alert row exists) - (moment ingest started storing it) is measured.
   Target: p95 <= 2 s.

    python bench/alerts.py [--docs 100000] [--rules 500] [--units 1000] [--sample 2000]
                           [--items 30]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBJECTS = ["Học sinh", "Phụ huynh", "Giáo viên", "Hiệu trưởng", "Nữ sinh", "Nam sinh", "Cô giáo"]
EVENTS = [
    "phản ánh lạm thu đầu năm học",
    "bị đánh hội đồng sau giờ tan học",
    "đạt giải nhất học sinh giỏi quốc gia",
    "bị ngộ độc thực phẩm tại bếp ăn bán trú",
    "tổ chức dạy thêm trái quy định",
    "tham gia lễ khai giảng năm học mới",
    "được nhận học bổng vượt khó",
    "bức xúc vì điểm thi vào lớp 10",
    "kiến nghị sửa chữa phòng học xuống cấp",
    "được tập huấn chuyển đổi số",
]
NAMES = [
    "Nguyễn Huệ",
    "Lê Lợi",
    "Trần Phú",
    "Quang Trung",
    "Hoa Sen",
    "Phan Châu Trinh",
    "Lý Tự Trọng",
    "Hùng Vương",
    "Nguyễn Trãi",
    "Chu Văn An",
    "Lê Quý Đôn",
    "Kim Đồng",
]
DISTRICTS = ["Hòa Vang", "Liên Chiểu", "Sơn Trà", "Hải Châu", "Thanh Khê", "Cẩm Lệ"]
LEVELS = ["THCS", "THPT", "Tiểu học", "Mầm non"]
TOPICS = [
    "hoc_phi_thu_chi",
    "bao_luc_hoc_duong",
    "guong_dien_hinh",
    "an_toan_suc_khoe",
    "day_them",
    "khac",
    "thi_tuyen_sinh",
    "co_so_vat_chat",
    "chuyen_doi_so",
]
WORDS = [
    "lạm thu",
    "đánh",
    "ngộ độc",
    "dạy thêm",
    "khai giảng",
    "học bổng",
    "điểm thi",
    "phòng học",
    "chuyển đổi số",
    "giáo viên",
    "phụ huynh",
    "bán trú",
    "hiệu trưởng",
]


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _env(data_dir: Path) -> dict[str, str]:
    return {
        "DIEMTIN_DATA_DIR": str(data_dir), "DIEMTIN_ENVIRONMENT": "test",
        "DIEMTIN_SECRET_KEY": "bench-secret", "DIEMTIN_DATABASE_URL": "",
        "DIEMTIN_BROKER_URL": "", "DIEMTIN_RESULT_BACKEND": "", "DIEMTIN_CELERY_EAGER": "false",
        "DIEMTIN_PROVINCE": "Đà Nẵng", "DIEMTIN_ALLOW_PRIVATE_URLS": "true",
    }  # fmt: skip


def _text(rng: random.Random, k: int) -> tuple[str, str]:
    school = f"Trường {rng.choice(LEVELS)} {rng.choice(NAMES)}"
    district = rng.choice(DISTRICTS)
    events = rng.sample(EVENTS, 2)
    title = f"{rng.choice(SUBJECTS)} {school} {events[0]} ({k})"
    filler = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
    body = f"{rng.choice(SUBJECTS)} ở huyện {district} {events[1]}. Theo ghi nhận, {filler}."
    return title, body


def populate(session: object, args: argparse.Namespace, rng: random.Random) -> list[str]:
    """Sources, units, rules and `args.docs` classified documents in stories; returns ids."""
    from sqlalchemy import insert

    from core.models import Classification, Document, Rule, Source, Story, Unit

    s = session  # type: ignore[assignment]
    scopes = ["social", "local", "national"]
    sources = [
        Source(name=f"Nguồn {i}", url=f"http://127.0.0.1:9/{i}", scope=scopes[i % 3])
        for i in range(30)
    ]
    s.add_all(sources)
    s.add_all(
        Unit(name=f"Trường {LEVELS[i % 4]} {NAMES[i % 12]} {i // 48 or ''}".strip(),
             type="truong", district=DISTRICTS[i % 6])
        for i in range(args.units)
    )  # fmt: skip
    # Rules as press offices write them: a school, an issue and a place; most documents
    # match none, a few match one or two.
    for i in range(args.rules):
        school = f"{LEVELS[i % 4]} {NAMES[(i // 4) % 12]}"
        event = EVENTS[(i // 48) % 10].split()[-2:]
        query = f'"{school}" VÀ "{" ".join(event)}" VÀ "{DISTRICTS[i % 6]}"'
        filters = {"risks": ["nong", "theo_doi"]} if i % 5 == 0 else {}
        s.add(Rule(name=f"Quy tắc {i}", query=query, filters=filters, severity="medium"))
    s.commit()
    now = datetime.now(UTC)
    ids: list[str] = []
    story_rows = [{"title": f"Câu chuyện {i}", "doc_count": 0} for i in range(args.docs // 3)]
    s.execute(insert(Story), story_rows)
    first_story = s.query(Story.id).order_by(Story.id).first()[0]
    batch_docs, batch_cls = [], []
    for k in range(args.docs):
        title, body = _text(rng, k)
        doc_id = str(uuid.uuid4())
        ids.append(doc_id)
        at = now - timedelta(minutes=args.docs - k)
        batch_docs.append({
            "id": doc_id, "source_id": sources[k % 30].id, "title": title, "body": body,
            "story_id": first_story + rng.randrange(len(story_rows)), "published_at": at,
            "fetched_at": at, "updated_at": at, "content_hash": doc_id, "meta": {},
            "likes": rng.randint(0, 500), "indexed_at": at,
        })  # fmt: skip
        batch_cls.append({
            "document_id": doc_id, "model_version": "bench", "topics": [rng.choice(TOPICS)],
            # Roughly the mix of a press day: few nóng, some theo dõi, mostly neutral.
            "risk": rng.choices(["nong", "theo_doi", "binh_thuong"], [5, 20, 75])[0],
            "risk_score": rng.random() / 2,
            "sentiment": rng.choices(["tieu_cuc", "trung_tinh", "tich_cuc"], [25, 55, 20])[0],
            "created_at": at,
        })  # fmt: skip
        if len(batch_docs) == 5000 or k == args.docs - 1:
            s.execute(insert(Document), batch_docs)
            s.execute(insert(Classification), batch_cls)
            s.commit()
            batch_docs, batch_cls = [], []
    return ids


def bench_throughput(ids: list[str], sample: int, batch: int) -> tuple[int, float]:
    """alerts.detection.evaluate.evaluate_many on `sample` stored documents, `batch` per transaction
    (1 = what evaluate_document does per task); (documents, seconds)."""
    from alerts.detection.evaluate import evaluate, evaluate_many
    from core import db

    session = db.new_session()
    evaluate(session, ids[0])  # warm the rule and unit caches
    # Documents spread over the store, as a crawl's new items would be.
    chosen = ids[-1 : -sample * 37 : -37][:sample]
    start = time.perf_counter()
    for i in range(0, len(chosen), batch):
        evaluate_many(session, chosen[i : i + batch])
    elapsed = time.perf_counter() - start
    session.close()
    return len(chosen), elapsed


def bench_delay(data_dir: Path, items: int, rng: random.Random) -> list[float]:
    """Seconds from ingest start to the alert row, with a real worker on the alerts queue."""
    from sqlalchemy import select

    from core import db
    from core.models import Alert, Document, Rule, Source
    from crawlers.connectors.base import FetchedItem
    from crawlers.pipeline import ingest

    with db.session_scope() as s:
        s.add(Rule(name="Bench: đánh hội đồng", query='"đánh hội đồng"', severity="high"))
        source_id = s.scalar(select(Source.id).order_by(Source.id))
    log = data_dir / "worker.log"
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "core.celery_app:app",
        "worker",
        "-Q",
        "alerts,default",
        "--pool",
        "threads",
        "-c",
        "2",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log.open("ab") as out:
        worker = subprocess.Popen(cmd, env={**os.environ, **_env(data_dir)}, cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    delays: list[float] = []
    try:
        time.sleep(8)  # worker start-up is not part of the delay
        session = db.new_session()
        source = session.get(Source, source_id)
        for k in range(items):
            marker = uuid.uuid4().hex[:10]
            item = FetchedItem(
                url=f"http://127.0.0.1:9/bench/{marker}.html",
                title=f"Nữ sinh lớp {k % 12 + 1} bị đánh hội đồng, mã {marker}",
                body=f"Vụ việc {marker} khiến phụ huynh bức xúc. " * 3
                + " ".join(rng.choice(WORDS) for _ in range(40)),
                published_at=datetime.now(UTC),
            )
            start = time.perf_counter()
            ingest(session, source, [item])
            story_id = session.scalar(select(Document.story_id).where(Document.url == item.url))
            session.commit()
            while time.perf_counter() - start < 30:
                with db.new_session(read_only=True) as reader:
                    found = reader.scalar(
                        select(Alert.id).where(Alert.kind == "rule", Alert.story_id == story_id)
                    )
                if found:
                    delays.append(time.perf_counter() - start)
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.2, 1.0))
        session.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return delays


def main() -> None:
    """Run both parts and print the figures last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--batch", type=int, default=50, help="documents per evaluate_documents")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="diemtin-bench-alerts-"))
    os.environ.update(_env(data_dir))
    rng = random.Random(7)
    try:
        from core import db
        from core.celery_app import configure

        configure()
        db.migrate()
        t = time.perf_counter()
        with db.session_scope() as session:
            ids = populate(session, args, rng)
        print(f"populated {args.docs} documents in {time.perf_counter() - t:.1f} s", flush=True)
        n, seconds = bench_throughput(ids, args.sample, 1)
        n_b, seconds_b = bench_throughput(ids[::-1], args.sample, args.batch)
        delays = bench_delay(data_dir, args.items, rng)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"cpu cores: {os.cpu_count()} (shared machine: other work was running)")
    print(
        f"throughput: {n} documents evaluated (units, {args.rules} rules, story score, "
        f"alerts) against {args.docs} stored documents and {args.units} units in "
        f"{seconds:.2f} s = {n / seconds:.0f} documents/s one per transaction "
        f"(evaluate_document); {n_b} in batches of {args.batch} (evaluate_documents): "
        f"{seconds_b:.2f} s = {n_b / seconds_b:.0f} documents/s (target >= 500)"
    )
    if delays:
        print(
            f"store-to-alert delay over {len(delays)}/{args.items} items: "
            f"median {statistics.median(delays):.2f} s, p95 {percentile(delays, 95):.2f} s, "
            f"max {max(delays):.2f} s (target p95 <= 2 s)"
        )
    else:
        print("store-to-alert delay: no alert appeared (see the worker log)")


if __name__ == "__main__":
    main()
