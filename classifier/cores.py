"""How many threads one process's encoder may use.

Kept free of torch: a Celery worker's parent process sets `worker_threads` before its pool
forks (core.celery_app.share_cores), and crawl or alert workers must not load torch for it.
"""

from __future__ import annotations

import os

# Encoder threads of this process when settings.classifier_threads is 0 (0 = every core).
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
