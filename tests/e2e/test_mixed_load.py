"""The embedded default under real use, for about 20 s: `diemtin run` (web, worker, scheduler
on one SQLite file) while a crawl of the fixture web and of a feed of near-identical items,
a relabel of 3,000 documents and alert evaluation of a backlog run, press officers add notes to
cases, the CLI lists sources and adds users, and 100 tips arrive from 10 clients at once.
No process may meet "database is locked", no request may get a 5xx, and the database must hold
exactly what each client was told was stored. The same mix, longer and bigger, is
bench/contention.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.contention_corpus import (
    RELABEL_VERSION,
    NearIdenticalFeed,
    lost_or_doubled,
    relabel,
    seed_cases,
    seed_corpus,
)
from bench.contention_mix import Results, Stack, lock_error_report, lock_errors, run_load
from core.celery_app import send_task_safely
from core.db import new_session
from core.models import Classification, CrawlRun, Document, Source
from core.settings import Settings
from fixtureweb import PressWeb
from tests.conftest import TEST_DATABASE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="the embedded default is SQLite"),
]
CORPUS, BACKLOG, TIPS, NEAR_IDENTICAL = 3000, 300, 100, 200


def wait_until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def test_mixed_load_meets_no_lock_no_5xx_and_loses_or_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    db_url = settings.db_url
    stack = Stack(Path(settings.data_dir))
    assert stack.cli("migrate")[0] == 0
    # given a corpus of 3,000 documents, 300 of them not yet evaluated, and 10 open cases
    ids, backlog = seed_corpus(db_url, CORPUS, unevaluated=BACKLOG)
    cases = seed_cases(db_url, 10)
    web, feed = PressWeb(settings=settings).start(), NearIdenticalFeed(NEAR_IDENTICAL).start()
    stack.start()
    try:
        # and the fixture papers' feeds and a feed of near-identical items, added by the CLI
        feeds = {f"Báo thử {p}": web.feed_url(p) for p in web.papers}
        feeds["Tin gần giống nhau"] = feed.url
        for name, url in feeds.items():
            code, _, err = stack.cli(
                "source", "add", name, url, "--kind", "rss", "--scope", "local"
            )
            assert code == 0, err
        relabelled: list[int] = []

        def background(stop: threading.Event) -> None:
            # alert evaluation of the backlog through the worker, and a relabel here
            for start in range(0, len(backlog), 50):
                send_task_safely("evaluate_documents", args=[backlog[start : start + 50]])
            relabelled.append(relabel(db_url, ids, stop))

        # when everything runs at once for about 20 s
        results = Results()
        run_load(stack, results, "mixed", background, cases=cases, duration_s=20, tips=TIPS)

        # then the backlog is evaluated and the crawls finish (the worker drains its queue)
        def evaluated() -> bool:
            with new_session(db_url, read_only=True) as s:
                left = s.scalar(
                    select(func.count()).where(
                        Document.id.in_(backlog), Document.evaluated_at.is_(None)
                    )
                )
            return left == 0

        def crawled() -> bool:
            with new_session(db_url, read_only=True) as s:
                done = s.scalars(
                    select(CrawlRun.status)
                    .join(Source)
                    .where(Source.name.in_(feeds), CrawlRun.status != "running")
                ).all()
            return len(done) >= len(feeds)

        assert wait_until(evaluated, 180), "alert evaluation backlog not drained"
        assert wait_until(crawled, 180), "the fixture feeds were not all crawled"
    finally:
        stack.stop()
        web.stop()
        feed.stop()
    # no process met the lock, no request got a 5xx (or a reset)
    assert lock_errors(stack) == [], lock_error_report(stack)
    assert [(s.kind, s.status) for s in results.server_errors()] == []
    assert results.crashes == []
    # every acknowledged tip, note and user is stored once; nothing told failed is stored
    ok = {k: results.ok_keys(k) for k in ("tip", "web_write", "cli_write")}
    failed = {k: results.failed_keys(k) for k in ("tip", "web_write", "cli_write")}
    assert len(set(ok["tip"])) == TIPS // 10 * 10, failed["tip"][:5]
    assert ok["web_write"] and ok["cli_write"]
    assert lost_or_doubled(db_url, ok, failed) == []
    # the relabel wrote one new label per document; the crawl stored the feeds' items
    with new_session(db_url, read_only=True) as s:
        labels = s.scalar(
            select(func.count())
            .select_from(Classification)
            .where(Classification.model_version == RELABEL_VERSION)
        )
        near = s.scalar(
            select(func.count())
            .select_from(Document)
            .join(Source)
            .where(Source.name == "Tin gần giống nhau")
        )
        papers = s.scalar(
            select(func.count())
            .select_from(Document)
            .join(Source)
            .where(Source.name.like("Báo thử %"))
        )
    assert relabelled == [CORPUS] and labels == CORPUS
    assert near == NEAR_IDENTICAL and papers
