"""How many threads one process's encoder may use.

Kept free of torch: a Celery worker's parent process sets `worker_threads` before its pool
forks (`share_cores` below), and crawl or alert workers must not load torch for it. The
classify task module (crawlers.classify) imports this module, so every worker connects the
handler before Celery sends the signal.
"""

from __future__ import annotations

import os
from typing import Any

from celery import signals

# Encoder threads of this process when settings.classifier.threads is 0 (0 = every core).
worker_threads = 0


def cores_per_process(processes: int) -> int:
    """This host's usable cores shared among `processes` (0 = no sharing needed)."""
    if processes <= 1:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // processes)


def encoder_threads(configured: int) -> int:
    """Threads for the encoder: the setting when given, else this worker's share, else 0."""
    return configured or worker_threads


@signals.celeryd_after_setup.connect
def share_cores(sender: str, instance: Any, **_: Any) -> None:
    """A prefork worker of N processes gives each child's classifier cores / N threads.

    Sent in the parent before the pool forks, so every child inherits the figure. Each
    process otherwise runs its encoder on every core and N of them contend: on 2 cores,
    `-c 2` ran at 74 docs/s with every core each and 104 with one each (int8 fast path,
    `python bench/classify_workers.py`). DIEMTIN_CLASSIFIER_THREADS, when set, wins."""
    global worker_threads
    processes = int(getattr(instance, "concurrency", 0) or 0)
    forked = "prefork" in str(getattr(instance, "pool_cls", "prefork")).lower()
    worker_threads = cores_per_process(processes) if forked else 0
