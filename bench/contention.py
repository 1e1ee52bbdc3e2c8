"""Contention on the embedded default: the mix of tests/e2e/test_mixed_load.py, longer, on a
big corpus, in two phases.

`diemtin run` (web, worker, scheduler) serves a database of `--n` documents (bulk-inserted).
Phase "relabel": `--relabel` documents are relabelled (the classify task's batches) while
alert evaluation works through `--backlog` documents. Phase "ingest": an RSS feed of
`--near-identical` items that differ in one number is added and crawled by the worker. In
both, 3 press officers add notes to cases, an admin runs `diemtin source list` and
`diemtin user add`, and `--tips` tips arrive from 10 clients at once.

Prints: lock errors (target 0), 5xx (0), what was lost or stored twice (0), the longest
write transaction (target <= 250 ms; SQLite: core.db_lock logs every one over 250 ms with its
holder, and this process's own relabel writes are measured), and p95/p99 of web writes,
`diemtin source list` and tips per phase (target p99 <= 1 s).

    python bench/contention.py [--n 100000] [--duration 60] [--database postgresql]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="documents in the corpus")
    parser.add_argument("--relabel", type=int, default=20_000, help="documents relabelled")
    parser.add_argument("--backlog", type=int, default=1_000, help="documents to evaluate")
    parser.add_argument("--near-identical", type=int, default=3_000)
    parser.add_argument("--tips", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60, help="seconds per phase, at least")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="diemtin-contention-"))
    cluster = None
    os.environ.update(
        {
            "DIEMTIN_DATA_DIR": str(work / "var"),
            "DIEMTIN_ENVIRONMENT": "development",
            "DIEMTIN_BROKER_URL": "",
            "DIEMTIN_RESULT_BACKEND": "",
            "DIEMTIN_CELERY_EAGER": "false",
            "DIEMTIN_DATABASE_URL": "",
            "DIEMTIN_CLASSIFIER_MODEL_ENABLED": "false",
        }
    )
    if args.database == "postgresql":
        from tests.pgcluster import PostgresCluster

        cluster = PostgresCluster().start()
        os.environ["DIEMTIN_DATABASE_URL"] = cluster.new_database()
    try:
        return run(args, work)
    finally:
        if cluster is not None:
            cluster.stop()


def run(args: argparse.Namespace, work: Path) -> int:
    from bench.contention_corpus import (
        RELABEL_VERSION,
        NearIdenticalFeed,
        lost_or_doubled,
        relabel,
        seed_cases,
        seed_corpus,
    )
    from bench.contention_mix import (
        Results,
        Stack,
        lock_error_report,
        lock_errors,
        longest_logged_write,
        run_load,
    )
    from core.celery_app import send_task_safely
    from core.db import new_session, reset_write_stats, write_stats
    from core.models import Classification, Document, Source
    from core.settings import get_settings

    settings = get_settings()
    db_url = settings.db_url
    stack = Stack(Path(settings.data_dir), env={"DIEMTIN_DATABASE_URL": db_url})
    assert stack.cli("migrate")[0] == 0
    t0 = time.monotonic()
    ids, backlog = seed_corpus(db_url, args.n, unevaluated=args.backlog)
    cases = seed_cases(db_url, 20)
    print(f"corpus: {args.n} documents in {time.monotonic() - t0:.0f} s ({args.database})")
    reset_write_stats()  # the bulk load ran alone, before the stack: not part of the figure
    stack.start()
    results = Results()
    # The command's own start (imports, settings) with nothing else running: the floor
    # under the figures below.
    idle = sorted(stack.cli("source", "list")[1] for _ in range(3))
    print(f"diemtin source list with no load: {idle[1] * 1000:.0f} ms (median of 3)")
    feed = NearIdenticalFeed(args.near_identical).start()
    try:
        relabelled: list[int] = []

        def relabelling(stop: threading.Event) -> None:
            for start in range(0, len(backlog), 50):
                send_task_safely("evaluate_documents", args=[backlog[start : start + 50]])
            relabelled.append(relabel(db_url, ids[: args.relabel]))

        seconds = run_load(
            stack, results, "relabel", relabelling,
            cases=cases, duration_s=args.duration, tips=args.tips,
        )  # fmt: skip
        print(f"phase relabel: {relabelled[0]} documents relabelled in {seconds:.0f} s")

        def ingesting(stop: threading.Event) -> None:
            code, _, err = stack.cli(
                "source", "add", "Tin gần giống nhau", feed.url, "--kind", "rss"
            )
            assert code == 0, err
            deadline = time.monotonic() + 20 * 60
            while time.monotonic() < deadline:
                with new_session(db_url, read_only=True) as s:
                    n = (
                        s.query(Document)
                        .join(Source)
                        .filter(Source.name == "Tin gần giống nhau")
                        .count()
                    )
                if n >= args.near_identical:
                    return
                time.sleep(2)

        seconds = run_load(
            stack, results, "ingest", ingesting,
            cases=cases, duration_s=args.duration, tips=args.tips,
        )  # fmt: skip
        print(f"phase ingest: {args.near_identical} near-identical items in {seconds:.0f} s")
    finally:
        stack.stop()
        feed.stop()
    ok = {k: results.ok_keys(k) for k in ("tip", "web_write", "cli_write")}
    failed = {k: results.failed_keys(k) for k in ("tip", "web_write", "cli_write")}
    problems = lost_or_doubled(db_url, ok, failed)
    with new_session(db_url, read_only=True) as s:
        labels = (
            s.query(Classification).filter(Classification.model_version == RELABEL_VERSION).count()
        )
    errors = lock_errors(stack)
    if errors:
        print(lock_error_report(stack, after=4)[:4000])
    logged, holder = longest_logged_write(stack)
    own = write_stats()
    longest = max(logged, round(own.longest_s * 1000))
    holder = holder if logged >= own.longest_s * 1000 else own.longest_where
    sqlite = db_url.startswith("sqlite")
    print(f"relabelled rows stored: {labels}; lost or stored twice: {len(problems)}")
    for p in problems[:10]:
        print(f"  {p}")
    print(f"5xx or reset: {len(results.server_errors())}; clients that died: {results.crashes}")
    print(f"lock errors: {len(errors)}")
    if not sqlite:
        figure = "n/a (measured on SQLite only)"
    elif longest >= 250:
        figure = f"{longest} ms ({holder.split('lock ')[-1][:200]})"
    else:
        figure = "< 250 ms (none logged over 250 ms)"
    print(f"longest write transaction: {figure}")
    for phase in ("relabel", "ingest"):
        for kind, label in (("web_write", "web writes"), ("cli_read", "diemtin source list"),
                            ("tip", "tips")):  # fmt: skip
            n, p95, p99 = results.percentiles(kind, phase)
            print(f"{phase:8} {label:20} n={n:4} p95={p95 * 1000:7.0f} ms p99={p99 * 1000:7.0f} ms")
    return 0 if not errors and not problems and not results.server_errors() else 1


if __name__ == "__main__":
    sys.exit(main())
