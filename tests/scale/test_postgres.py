"""PostgreSQL in the default suite: the migrations up, down and up again, and a crawl that is
stored, clustered, classified, indexed (FTS5 in a SQLite file of its own) and found.
`make test-postgres` runs the whole suite on PostgreSQL; this keeps CI covering it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from alerts.detection.evaluate import evaluate, lock_story
from core import db
from core.celery_app import configure
from core.models import Alert, Classification, Document, Rule, Source, Story
from core.search import SearchQuery, get_backend
from core.search.indexer import index_all_pending
from core.settings import Settings, get_settings
from crawlers.service import crawl
from tests.conftest import reset_caches
from tests.crawlers.conftest import LocalServer, Reply
from tests.pgcluster import PostgresCluster
from tests.scale.conftest import RSS_HEADERS, rss_feed


@pytest.fixture
def pg_settings(
    settings: Settings, postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings on an empty PostgreSQL database (the one `make test-postgres` gave, or new)."""
    if settings.db_url.startswith("postgresql"):
        yield settings
        return
    url = postgres_cluster.new_database()
    monkeypatch.setenv("DIEMTIN_DATABASE_URL", url)
    reset_caches()
    current = get_settings()
    configure(current)
    try:
        yield current
    finally:
        db.get_engine().dispose()
        reset_caches()
        postgres_cluster.drop_database(url)


def test_migrations_run_up_down_and_up_on_postgresql(pg_settings: Settings) -> None:
    # when
    db.migrate()
    engine = db.get_engine()
    # then: every table of the model exists, with the newest revision recorded
    tables = set(inspect(engine).get_table_names())
    assert {"documents", "classifications", "stories", "alerts", "notifications"} <= tables
    assert engine.dialect.name == "postgresql"
    # and the downgrade path works too, back to an empty schema and up again
    command.downgrade(db.alembic_config(), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.migrate()
    assert "documents" in set(inspect(engine).get_table_names())


def test_crawl_index_search_roundtrip_on_postgresql(
    pg_settings: Settings, server: LocalServer
) -> None:
    # given: a migrated PostgreSQL database and a feed of five articles
    db.migrate()
    session: Session = db.new_session()
    try:
        url = server.route("/pg.xml", Reply(body=rss_feed(5, "pg"), headers=RSS_HEADERS))
        source = Source(name="Báo PostgreSQL", url=url, kind="rss")
        session.add(source)
        session.commit()
        # when: crawled twice (the second is a no-op) and indexed
        crawl(session, source.id)
        crawl(session, source.id)
        backend = get_backend(pg_settings)
        assert index_all_pending(session, backend) == 5
        # then: stored once each, with stories and labels, and searchable without diacritics
        assert session.scalar(select(func.count(Document.id))) == 5
        assert session.scalar(select(func.count(Story.id))) == 5
        assert session.scalar(select(func.count(Classification.id))) == 5
        found = backend.search(SearchQuery(q="sach giao khoa"))
        assert [h.title for h in found.hits] == ["Tin pg số 1: chuyện trường lớp về sách giáo khoa"]
        # and the FTS5 tables live in a SQLite file of their own beside PostgreSQL
        assert pg_settings.search_sqlite_url.endswith("search.sqlite3")
    finally:
        session.close()


def test_alert_evaluations_of_one_story_queue_up_on_postgresql(
    pg_settings: Settings, server: LocalServer
) -> None:
    # given: two documents of one story, and a rule both match
    db.migrate()
    session = db.new_session()
    other = db.new_session()
    try:
        url = server.route("/st.xml", Reply(body=rss_feed(10, "st"), headers=RSS_HEADERS))
        source = Source(name="Báo Câu Chuyện", url=url, kind="rss")
        session.add(source)
        session.add(Rule(name="Bạo lực", query='"bao luc hoc duong"', severity="high"))
        session.commit()
        crawl(session, source.id)
        first, second = session.scalars(
            select(Document).where(Document.title.contains("bạo lực")).order_by(Document.id)
        ).all()
        assert first.story_id == second.story_id is not None
        session.commit()
        # when: one worker is evaluating the first (it holds the story) while another
        # worker starts on the second
        lock_story(other, first.story_id)
        result: list[int] = []
        worker = threading.Thread(
            target=lambda: result.append(
                sum(a.kind == "rule" for a in evaluate(db.new_session(), second.id).touched)
            )
        )
        worker.start()
        time.sleep(1.0)
        # then: the second waits for the first instead of opening its own case
        assert worker.is_alive()
        evaluate(other, first.id)  # commits, which releases the story
        worker.join(timeout=20)
        assert result == [1]
        # (the story may also get its own "hot" case; the rule's case is one)
        alert = session.scalars(select(Alert).where(Alert.kind == "rule")).one()
        assert sorted(alert.details["documents"]) == sorted([first.id, second.id])
    finally:
        other.close()
        session.close()
