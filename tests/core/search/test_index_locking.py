"""Indexing on SQLite shares the database's write lock (issue 15): index writes, reindex and
optimize hold it briefly, and a busy database is never taken for an index outage."""

from __future__ import annotations

import logging
import random
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core import db
from core.models import Document, Source
from core.search import SearchQuery, get_backend
from core.search.indexer import index_pending, mark_all_pending, reindex
from core.settings import Settings
from tests.conftest import TEST_DATABASE

pytestmark = pytest.mark.serial  # times the write lock: run alone (`make test`)

N = 2500
VOCABULARY = (
    "học sinh giáo viên trường lớp phụ huynh tuyển sinh kỳ thi điểm chuẩn học phí sách giáo "
    "khoa chương trình bồi dưỡng thanh tra sở phòng huyện xã tỉnh năm học khai giảng bán trú "
    "nội trú mầm non tiểu học trung học phổ thông đại học cao đẳng nghề thể chất y tế"
)
WORDS = VOCABULARY.split()


def _corpus(session: Session, n: int = N) -> None:
    """`n` articles of ~250 words, written in one go (the test is about indexing them)."""
    rng = random.Random(15)
    source = Source(name="Báo Thử", url="https://bao.example.vn/rss")
    session.add(source)
    session.flush()
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        url = f"https://bao.example.vn/bai-{i}.html"
        rows.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
                "source_id": source.id,
                "url": url,
                "canonical_url": url,
                "title": " ".join(rng.choices(WORDS, k=10)) + f" số {i}",
                "lead": " ".join(rng.choices(WORDS, k=30)),
                "body": " ".join(rng.choices(WORDS, k=250)),
                "published_at": t0 + timedelta(minutes=i),
            }
        )
    session.execute(insert(Document), rows)
    session.commit()


@pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="the SQLite file's one write lock")
def test_reindex_and_optimize_never_hold_the_write_lock_long(
    session: Session, settings: Settings
) -> None:
    # given a few thousand documents, indexed once
    _corpus(session)
    backend = get_backend(settings)
    assert reindex(session, backend) == N
    # when the index is rebuilt and its segments merged (the slow paths of issue 15)
    db.reset_write_stats()
    assert reindex(session, backend, batch=1000) == N
    steps = backend.optimize()
    # then no write transaction held the lock past the target, and search still works
    stats = db.write_stats()
    assert stats.longest_s <= 0.25, stats
    assert steps >= 2  # the merge ran in steps, not as one 'optimize'
    assert backend.count() == N
    assert backend.search(SearchQuery(q="số 1234")).hits[0].title.endswith("số 1234")
    # and clearing goes in chunks too, leaving nothing findable
    db.reset_write_stats()
    backend.clear(chunk=500)
    assert db.write_stats().transactions >= N // 500
    assert db.write_stats().longest_s <= 0.25, db.write_stats()
    assert backend.count() == 0
    assert backend.search(SearchQuery(q="học sinh")).total == 0


def test_marking_for_reindex_goes_in_chunks(session: Session) -> None:
    _corpus(session, 120)
    session.execute(Document.__table__.update().values(indexed_at=datetime.now(UTC)))
    session.commit()
    db.reset_write_stats()
    assert mark_all_pending(session, chunk=50) == 120
    assert db.write_stats().transactions in (0, 3)  # 0 on PostgreSQL: nothing is counted
    pending = session.scalar(select(func.count()).where(Document.indexed_at.is_(None)))
    assert pending == 120


@pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="the SQLite file's one write lock")
def test_a_locked_database_is_not_an_index_outage(
    session: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # given pending documents and another writer holding the database's write lock
    _corpus(session, 20)
    backend = get_backend(settings)
    backend.setup()
    other = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # when the indexer runs, with a short deadline for the lock
        with (
            caplog.at_level(logging.INFO),
            db.lock_deadline(1.0),
            pytest.raises(Exception) as err,
        ):
            index_pending(session, backend)
    finally:
        other.rollback()
        other.close()
    # then it reports a busy database, records no index error and warns of no failure
    assert db.is_lock_error(err.value)
    session.rollback()
    errors = session.scalars(select(Document.index_error).where(Document.index_error.is_not(None)))
    assert errors.all() == []
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "index" in r.getMessage()
    ]
    assert any("database busy while indexing" in r.getMessage() for r in caplog.records)
    # and once the lock is free the same documents are indexed
    assert index_pending(session, backend) == 20
