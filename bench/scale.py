"""Scaling benchmark: search backends at large sizes, and end-to-end ingest on 1-4 workers.

1. Search, per backend and size: indexing docs/s and query p50/p95 (facets and a day
   histogram on every query) on documents recombined from the real articles of
   ../shared/data/vntc-articles (read at run time; bench/search.py builds them).
   Backends: `sqlite` (FTS5 file) and `elastic` (noida-db, started here, or --es-url).
2. End to end on the scaled path: redis-server as broker, a throwaway PostgreSQL cluster as
   the database, one real `celery worker` with 1, 2, 4 prefork processes on every queue.
   `--sources` RSS feeds on 127.0.0.1 carry `--docs` distinct articles (full text in
   content:encoded); the clock runs from queueing one crawl_source per feed to the last
   document classified (keyword baseline), stored, indexed (FTS5) and evaluated against
   three alert rules, with every queue drained.

    python bench/scale.py --sizes 100000,1000000 --backends sqlite,elastic --workers 1,2,4
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import build_index, load_articles, percentile, run_queries  # noqa: E402


def _fresh_env(workdir: Path, **extra: str) -> None:
    env = {
        "DIEMTIN_DATA_DIR": str(workdir),
        "DIEMTIN_DATABASE_URL": "",
        "DIEMTIN_BROKER_URL": "",
        "DIEMTIN_CELERY_EAGER": "false",
        "DIEMTIN_ALLOW_PRIVATE_URLS": "true",
    }
    os.environ.update({**env, **extra})
    from core.settings import get_settings

    get_settings.cache_clear()


def bench_search(backend_name: str, n: int, args: argparse.Namespace) -> str:
    """Index n documents into a fresh index and query it; returns the figure line."""
    from core.search.base import create_backend

    workdir = Path(tempfile.mkdtemp(prefix=f"diemtin-scale-{backend_name}-"))
    _fresh_env(workdir)
    from core.settings import get_settings

    data_dir = get_settings().shared_data_dir
    noida = None
    try:
        if backend_name == "sqlite":
            import core.search.sqlite_fts  # noqa: F401

            backend = create_backend("sqlite", url=f"sqlite:///{workdir / 'search.sqlite3'}")
            queries = args.queries
        else:
            import core.search.elastic  # noqa: F401

            url = args.es_url
            if not url:
                from tests.scale.services import NoidaServer

                noida = NoidaServer(workdir / "noida").start()
                url = noida.url
            backend = create_backend("elasticsearch", url=url)
            # noida-db scans documents per query: allow it minutes, not Elasticsearch's 30 s.
            backend.es = backend.es.options(request_timeout=args.es_timeout)  # type: ignore[attr-defined]
            queries = args.es_queries
        backend.setup()
        server = "noida-db" if noida else (args.es_url or "FTS5")
        label = f"search {backend_name:<7} ({server}) n={n:>9,}"
        index_s, optimize_s = build_index(backend, n, args.batch, data_dir)
        indexing = (
            f"indexing {n / index_s:,.0f} docs/s ({index_s:.0f} s + optimize {optimize_s:.0f} s)"
        )
        # Printed before the queries: a search server can die on them (noida-db at 1M docs
        # was killed by the kernel's OOM killer on its first query, 24 GB in use).
        print(f"{label}: {indexing}; querying...", flush=True)
        from elastic_transport import ConnectionError as TransportConnectionError

        try:
            latencies, _per_query, _totals = run_queries(backend, queries)
        except (ConnectionError, TransportConnectionError) as exc:
            why = str(exc).splitlines()[0][:160]
            return f"{label}: {indexing}; queries FAILED, the server went away ({why})"
        return (
            f"{label}: {indexing}; {len(latencies)} queries "
            f"p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms"
        )
    finally:
        if noida is not None:
            noida.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _feeds(articles: list[tuple[str, str, list[str]]], docs: int, sources: int) -> list[bytes]:
    """`sources` RSS feeds sharing `docs` distinct articles (full text in content:encoded)."""
    # Imported here like our other modules: the environment is set first (_fresh_env).
    from fixtureweb.rss import FeedItem, rss_feed

    feeds: list[list[FeedItem]] = [[] for _ in range(sources)]
    for i in range(docs):
        _section, title, paras = articles[i % len(articles)]
        feeds[i % sources].append(
            FeedItem(
                title=f"{title} ({i})",
                link=f"https://bao{i % sources}.example.vn/bai-{i}.html",
                guid=False,
                published_at="Mon, 09 Sep 2024 08:00:00 +0700",
                lead=paras[0],
                paragraphs=paras,
            )
        )
    return [
        rss_feed(title=f"Báo {k}", link="https://example.vn/", description="", items=items)
        for k, items in enumerate(feeds)
    ]


def bench_end_to_end(workers: list[int], args: argparse.Namespace) -> list[str]:
    """Crawl -> classify -> store -> index -> alerts on 1, 2, 4 worker processes."""
    from tests.crawlers.conftest import LocalServer, Reply
    from tests.pgcluster import PostgresCluster
    from tests.scale.services import RedisServer, celery_process, wait_for

    workdir = Path(tempfile.mkdtemp(prefix="diemtin-scale-e2e-"))
    _fresh_env(workdir)
    from core.settings import get_settings

    articles = load_articles(get_settings().shared_data_dir)
    feeds = _feeds(articles, args.docs, args.sources)
    web = LocalServer().start()
    headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
    urls = [web.route(f"/feed{k}.xml", Reply(body=f, headers=headers)) for k, f in enumerate(feeds)]
    pg = PostgresCluster().start()
    redis = RedisServer(workdir / "redis").start()
    lines = []
    try:
        for k in workers:
            lines.append(_one_run(k, args, workdir, urls, pg, redis, celery_process, wait_for))
            print(lines[-1], file=sys.stderr)
    finally:
        redis.stop()
        pg.stop()
        web.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return lines


def _one_run(k, args, workdir, urls, pg, redis, celery_process, wait_for) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from core import db
    from core.celery_app import app, configure, reset_pools
    from core.models import Document, Rule, Source
    from core.search import get_backend
    from core.settings import get_settings

    run_dir = workdir / f"run{k}"
    db_url = pg.new_database()
    _fresh_env(
        run_dir,
        DIEMTIN_DATABASE_URL=db_url,
        DIEMTIN_BROKER_URL=redis.url,
        DIEMTIN_SEARCH_BACKEND="sqlite",
        DIEMTIN_INDEX_TICK_S="2",
    )
    redis.client().flushall()
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()
    reset_pools()
    settings = get_settings()
    configure(settings)
    db.migrate()
    get_backend(settings).setup()
    session = db.new_session()
    for name, query in [
        ("Học phí", "hoc phi OR khoan thu"),
        ("Bạo lực", '"bao luc"'),
        ("Thi cử", "thi VÀ tuyen sinh"),
    ]:
        session.add(Rule(name=name, query=query, severity="high"))
    ids = []
    for i, url in enumerate(urls):
        source = Source(name=f"Báo {i}", url=url, kind="rss", poll_interval_s=86400)
        session.add(source)
        session.flush()
        ids.append(source.id)
    session.commit()
    env = {**os.environ, "DIEMTIN_ENVIRONMENT": "development"}
    log = run_dir / "worker.log"
    queues = "crawl,classify,alerts,index,default"
    with celery_process(
        env, log, "worker", "-Q", queues, "--pool", "prefork", "-c", str(k),
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ):  # fmt: skip
        # Worker start-up (imports, forks) is not ingest: wait until it answers.
        wait_for(lambda: bool(app.control.ping(timeout=0.5)), 120, "the worker", log)
        started = time.perf_counter()
        for source_id in ids:
            app.send_task("crawl_source", args=[source_id])
        indexed = select(func.count()).where(Document.indexed_at.is_not(None))
        client = redis.client()

        def done() -> bool:
            n = session.scalar(indexed)
            session.rollback()
            queued = sum(client.llen(q) for q in queues.split(","))
            return n == args.docs and queued == 0 and client.hlen("unacked") == 0

        wait_for(done, args.e2e_timeout, f"{args.docs} documents end to end", log)
        elapsed = time.perf_counter() - started
    session.close()
    db.get_engine().dispose()
    rate = args.docs / elapsed
    return (
        f"end to end, {k} worker process{'es' if k > 1 else ''}: {args.docs} docs from "
        f"{len(ids)} feeds in {elapsed:.1f} s = {rate:.0f} docs/s "
        f"(~{rate * 86400 / k / 1e6:.1f} M docs/day per process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated document counts")
    parser.add_argument("--backends", default="sqlite,elastic", help="sqlite,elastic")
    parser.add_argument("--workers", default="1,2,4", help="worker processes, comma-separated")
    parser.add_argument("--queries", type=int, default=200, help="queries per FTS5 run")
    parser.add_argument("--es-queries", type=int, default=20, help="queries per noida-db run")
    parser.add_argument("--es-url", default="", help="a real cluster instead of noida-db")
    parser.add_argument("--es-timeout", type=float, default=600)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--docs", type=int, default=2000, help="documents end to end")
    parser.add_argument("--sources", type=int, default=16, help="feeds end to end")
    parser.add_argument("--e2e-timeout", type=float, default=600)
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()

    lines: list[str] = []
    if not args.skip_search:
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if name not in ("sqlite", "elastic"):
                raise SystemExit(f"unknown backend {name!r}: sqlite or elastic")
            for n in [int(s) for s in args.sizes.split(",")]:
                lines.append(bench_search(name, n, args))
                print(lines[-1], file=sys.stderr)
    if not args.skip_e2e:
        lines += bench_end_to_end([int(w) for w in args.workers.split(",")], args)
    print(f"machine: {os.cpu_count()} CPU cores, shared with other work (figures are floors)")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
