"""The Celery configuration of the scaled path: every task on a queue of its own kind, tasks
acknowledged only after they ran, and Redis's sweep for a dead worker's tasks."""

from __future__ import annotations

import os

import pytest
from celery import signals
from celery._state import _set_task_join_will_block

from core.celery_app import QUEUES, TASK_MODULES, TASK_ROUTES, app, configure, transport_options
from core.settings import Settings


def test_every_task_is_routed_to_a_known_queue(settings: Settings) -> None:
    # given: every task module imported, as a worker does
    app.loader.import_default_modules()
    for module in TASK_MODULES:
        __import__(module)
    # (tests register a few stand-ins of their own, named tests_*)
    ours = {name for name in app.tasks if not name.startswith(("celery.", "tests_"))}
    # then
    assert ours == set(TASK_ROUTES)
    assert {route["queue"] for route in TASK_ROUTES.values()} == set(QUEUES)


def test_tasks_are_acknowledged_after_they_ran(settings: Settings) -> None:
    conf = configure(settings).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_max_retries is None  # ride out a broker restart


def test_redis_sweeps_for_a_dead_workers_tasks_within_a_quarter_timeout() -> None:
    base = {"environment": "test", "secret_key": "x"}
    production = transport_options(Settings(**base, celery={"broker_url": "redis://r:6379/0"}))
    assert production["visibility_timeout"] == 7200
    assert (
        production["unacked_restore_interval"] == 60 and production["unacked_restore_throttle"] == 1
    )
    quick = transport_options(
        Settings(**base, celery={"broker_url": "redis://r:6379/0", "redis_visibility_timeout_s": 4})
    )
    assert quick["unacked_restore_interval"] == 1.0
    embedded = transport_options(Settings(**base, celery={"broker_visibility_timeout_s": 30}))
    assert embedded == {"visibility_timeout": 30}


@pytest.mark.parametrize(("processes", "pool"), [(2, "prefork"), (1, "prefork"), (4, "threads")])
def test_prefork_workers_share_the_cores_among_their_classifiers(
    settings: Settings, processes: int, pool: str
) -> None:
    from classifier import cores as shares
    from classifier import service

    cores = len(os.sched_getaffinity(0))
    # given a worker as `celery worker -c N -P pool` builds it (not started)
    worker = app.WorkController(concurrency=processes, pool_cls=pool, hostname="cores@test")
    try:
        # when it has set up (the parent, before forking its pool)
        signals.celeryd_after_setup.send(sender=worker.hostname, instance=worker, conf=app.conf)
        clf = service.TrainedClassifier(service.artefact_dir(), settings)
        # then each forked process's encoder gets its share; one process or threads: all cores
        forked = pool == "prefork" and processes > 1
        assert clf.threads == (max(1, cores // processes) if forked else 0)
        # and an explicit DIEMTIN_CLASSIFIER_THREADS wins
        pinned = settings.copy_with(classifier={"threads": 3})
        assert service.TrainedClassifier(service.artefact_dir(), pinned).threads == 3
    finally:
        shares.worker_threads = 0
        # Building a WorkController sets Celery's process-wide "joining a result would block"
        # flag (right for a worker process); later tests in this process call .get() on
        # eager results, which that flag refuses.
        _set_task_join_will_block(False)
