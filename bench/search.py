"""Search backend benchmark: indexing rate and query latency at N documents.

Documents are synthetic but realistic: paragraphs of real Vietnamese articles from
../shared/data/vntc-articles (when present) recombined into new documents, with random
dates, sources and labels. Queries are a mix of what press officers type: words with and
without diacritics, phrases, boolean queries, prefixes, filters, and empty queries with
filters. Every query asks for facets and a histogram, as the search page does.

    python bench/search.py --n 100000 [--backend sqlite] [--queries 400]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTIMENTS = ["tieu_cuc", "trung_tinh", "tich_cuc"]
RISKS = ["nong", "theo_doi", "binh_thuong"]
# Our own words, used only when the shared data is absent.
_FALLBACK_TEXT = (
    "giáo dục học sinh giáo viên nhà trường phụ huynh tuyển sinh thi cử lớp học năm học "
    "khai giảng chương trình sách giáo khoa học phí khoản thu bạo lực an toàn thành phố "
    "tỉnh huyện xã Đà Nẵng Hà Nội Đồng Tháp sở phòng trường tiểu học trung học phổ thông "
    "đại học kết quả điểm số chuyển đổi số cơ sở vật chất khen thưởng kỷ luật chỉ đạo"
)
FALLBACK_WORDS = _FALLBACK_TEXT.split()

QUERY_MIX = [
    {"q": "giao duc"},
    {"q": "giáo dục"},
    {"q": "học sinh"},
    {"q": '"học sinh"'},
    {"q": "thi truong"},
    {"q": "bóng đá"},
    {"q": "ha noi"},
    {"q": '"thành phố Hồ Chí Minh"'},
    {"q": "công an VÀ điều tra"},
    {"q": "kinh te OR tai chinh"},
    {"q": "bệnh viện -covid"},
    {"q": "tuyen*"},
    {"q": "giáo viên", "risks": ["nong"]},
    {"q": "chính phủ", "sources": [3, 7]},
    {"q": "", "topics": ["hoc_phi_thu_chi"]},
    {"q": "", "sentiments": ["tieu_cuc"], "days": 30},
    {"q": "máy tính", "days": 90},
    {"q": "(bóng đá OR thể thao) VÀ việt nam"},
    {"q": "doanh nghiep xuat khau"},
    {"q": "quốc hội"},
]


def load_articles(data_dir: Path) -> list[tuple[str, str, list[str]]]:
    """(section, title, paragraphs) of the real articles, or generated ones of our own words."""
    path = data_dir / "vntc-articles" / "sample.csv"
    articles: list[tuple[str, str, list[str]]] = []
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                lines = [ln.strip() for ln in row["text"].splitlines() if ln.strip()]
                if len(lines) > 1:
                    articles.append((row["label"], lines[0], lines[1:]))
        print(f"corpus: {len(articles)} real articles from {path}", file=sys.stderr)
    else:
        rnd = random.Random(1)
        for i in range(2000):
            title = " ".join(rnd.choices(FALLBACK_WORDS, k=9))
            paras = [" ".join(rnd.choices(FALLBACK_WORDS, k=50)) + "." for _ in range(8)]
            articles.append((str(i % 10), title, paras))
        print("corpus: shared data absent, using generated Vietnamese word salad", file=sys.stderr)
    return articles


def make_docs(n: int, articles: list[tuple[str, str, list[str]]], seed: int = 7):  # type: ignore[no-untyped-def]
    """Yield n IndexDocs, each a variant of one real article: most of its paragraphs, in
    order, plus one or two paragraphs of another article of the same section (as rewrites
    and round-ups do). Word frequencies stay those of real articles."""
    from core.search.base import IndexDoc
    from core.taxonomy import TOPICS

    rnd = random.Random(seed)
    by_section: dict[str, list[int]] = {}
    for i, (section, _, _) in enumerate(articles):
        by_section.setdefault(section, []).append(i)
    now = datetime.now(UTC)
    for i in range(n):
        section, title, paras = articles[rnd.randrange(len(articles))]
        keep = [p for p in paras if rnd.random() < 0.8] or paras[:1]
        other = articles[rnd.choice(by_section[section])][2]
        keep += rnd.sample(other, k=min(len(other), rnd.randint(1, 2)))
        source = rnd.randint(1, 40)
        yield IndexDoc(
            id=f"doc-{i}",
            title=title,
            lead=keep[0],
            body="\n".join(keep[1:]),
            published_at=now - timedelta(seconds=rnd.randint(0, 365 * 86400)),
            source_id=source,
            source_name=f"Nguồn {source}",
            topics=rnd.sample(TOPICS, k=rnd.randint(1, 3)),
            sentiment=rnd.choice(SENTIMENTS),
            risk=rnd.choices(RISKS, weights=[1, 3, 12])[0],
            # Most articles name none of the Department's units.
            units=rnd.sample(range(1, 200), k=1 + rnd.randint(0, 1)) if rnd.random() < 0.15 else [],
        )


def build_index(backend, n: int, batch_size: int, data_dir: Path) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Index n documents in batches; returns (indexing seconds, optimize seconds)."""
    backend.clear()
    articles = load_articles(data_dir)
    started = time.perf_counter()
    batch = []
    for doc in make_docs(n, articles):
        batch.append(doc)
        if len(batch) == batch_size:
            backend.index(batch)
            batch = []
    backend.index(batch)
    backend.refresh()
    index_s = time.perf_counter() - started
    started = time.perf_counter()
    if hasattr(backend, "optimize"):
        backend.optimize()
    return index_s, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_queries(backend, queries: int):  # type: ignore[no-untyped-def]
    """Run `queries` searches of QUERY_MIX (facets and a day histogram, as the search page
    asks); returns (latencies ms after the warm-up round, ms per query text, hits per text)."""
    from core.search import SearchQuery

    now = datetime.now(UTC)
    latencies: list[float] = []
    per_query: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    for i in range(queries):
        spec = dict(QUERY_MIX[i % len(QUERY_MIX)])
        days = spec.pop("days", None)
        query = SearchQuery(
            **spec,
            date_from=now - timedelta(days=days) if days else None,
            facets=True,
            histogram="day",
        )
        t = time.perf_counter()
        result = backend.search(query)
        ms = (time.perf_counter() - t) * 1000
        if i >= len(QUERY_MIX) or queries <= len(QUERY_MIX):  # the first round warms caches
            latencies.append(ms)
            per_query.setdefault(spec["q"] or str(spec), []).append(ms)
        totals[spec["q"] or str(spec)] = result.total
    return latencies, per_query, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=300, help="elasticsearch request s")
    parser.add_argument("--dir", default=None, help="data dir (default: a temp dir)")
    parser.add_argument(
        "--reuse", action="store_true", help="query an index built by an earlier run in --dir"
    )
    args = parser.parse_args()

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="diemtin-bench-"))
    os.environ["DIEMTIN_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DIEMTIN_SEARCH_BACKEND", args.backend)
    from core.db import migrate
    from core.search import get_backend
    from core.settings import get_settings

    settings = get_settings()
    migrate()
    backend = get_backend(settings)
    if args.backend == "elasticsearch":
        # noida-db, the stand-in server, scans documents per query: seconds each at 20,000 docs.
        backend.es = backend.es.options(request_timeout=args.timeout)  # type: ignore[attr-defined]
    backend.setup()
    index_s = optimize_s = 0.0
    if args.reuse:
        args.n = backend.count()
    else:
        index_s, optimize_s = build_index(backend, args.n, args.batch, settings.shared_data_dir)

    latencies, per_query, totals = run_queries(backend, args.queries)

    print(f"backend={args.backend} n={args.n} dir={workdir}")
    for q, values in per_query.items():
        print(f"  {statistics.median(values):7.1f} ms  {totals[q]:>7} hits  {q}")
    size_mb = sum(f.stat().st_size for f in workdir.glob("*.sqlite3*")) / 1e6
    print(f"database size: {size_mb:.0f} MB; optimize: {optimize_s:.1f} s")
    if index_s:
        print(f"indexing: {args.n / index_s:.0f} docs/s ({index_s:.1f} s for {args.n} docs)")
    print(
        f"query latency over {len(latencies)} queries: "
        f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms"
    )


if __name__ == "__main__":
    main()
