"""Classify processes per host: docs/s of one host's classifier work laid out as
processes x threads (e.g. `1x2` = one process using both cores, `2x1` = two processes of one
thread each, `2x2` = two processes each using every core, as `celery -c 2` does by default).

Each process loads the model as a classify worker does (`TrainedClassifier`, with
DIEMTIN_CLASSIFIER_THREADS), warms up, waits for the others, then labels its share of the
documents in batches of 32 (the classify task's unit of work). The figure is all documents
over the time from the common start to the last process's end; RSS is summed over the
processes. Documents are the article bodies classifier_speed.py uses.

    python bench/classify_workers.py [--runtime onnx] [--docs 512] [--layouts 1x2,2x1,2x2]
        [--rounds 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _worker(runtime: str, threads: int, texts: list[str], ready: mp.Barrier, out: mp.Queue) -> None:
    os.environ["DIEMTIN_CLASSIFIER_THREADS"] = str(threads)
    os.environ["DIEMTIN_CLASSIFIER_RUNTIME"] = runtime
    from classifier.artefact import artefact_dir
    from classifier.service import TrainedClassifier
    from core.settings import get_settings

    settings = get_settings()
    clf = TrainedClassifier(artefact_dir(settings), settings)
    clf.load()
    clf.predict(texts[:32])  # warm-up: first-call allocations, tokenizer caches
    ready.wait()
    started = time.time()
    for i in range(0, len(texts), 32):
        clf.predict(texts[i : i + 32])
    ended = time.time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((started, ended, rss))


def run_layout(runtime: str, procs: int, threads: int, texts: list[str]) -> tuple[float, float]:
    """(docs/s, summed peak RSS in MB) of one layout."""
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(procs)
    out: mp.Queue = ctx.Queue()
    share = [texts[k::procs] for k in range(procs)]
    workers = [
        ctx.Process(target=_worker, args=(runtime, threads, share[k], ready, out))
        for k in range(procs)
    ]
    for w in workers:
        w.start()
    results = [out.get(timeout=1800) for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode:
            raise SystemExit(f"a worker process failed (exit {w.exitcode})")
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    return len(texts) / (end - start), sum(r[2] for r in results)


def main() -> int:
    """Print docs/s per layout (median of --rounds, rounds alternate between layouts)."""
    from bench.classifier_speed import documents
    from core.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", choices=("torch", "onnx"), default="onnx")
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--layouts", default="1x2,2x1,2x2")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    layouts = []
    for item in args.layouts.split(","):
        p, _, t = item.partition("x")
        layouts.append((int(p), int(t)))
    texts = documents(get_settings().shared_data_dir, args.docs)
    if args.runtime == "onnx":
        # Build the int8 graph once before timing (workers would wait on its lock anyway).
        run_layout("onnx", 1, 0, texts[:32])
    figures: dict[tuple[int, int], list[float]] = {layout: [] for layout in layouts}
    rss: dict[tuple[int, int], float] = {}
    for _ in range(args.rounds):
        for layout in layouts:
            rate, mem = run_layout(args.runtime, *layout, texts)
            figures[layout].append(rate)
            rss[layout] = max(rss.get(layout, 0.0), mem)
    cores = os.cpu_count()
    print(f"runtime {args.runtime}, {args.docs} documents, batch 32, {cores} cores")
    print(f"{'processes x threads':>20} {'docs/s (median)':>16} {'range':>14} {'RSS MB':>8}")
    for layout in layouts:
        values = figures[layout]
        rng = f"{min(values):.1f}-{max(values):.1f}"
        name = f"{layout[0]} x {layout[1]}"
        print(f"{name:>20} {statistics.median(values):16.1f} {rng:>14} {rss[layout]:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
