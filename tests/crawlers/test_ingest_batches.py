"""Ingest commits in small batches, and the classifier never runs while ingest holds the
database's writer lock: a long crawl leaves room for the web app and other workers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from classifier.base import Prediction
from classifier.baseline import BaselineClassifier
from core.models import Source
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import BATCH_SIZE, ingest


class _WriterProbe:
    """A classifier that, before labelling, takes the writer lock on its own connection and
    counts the documents already committed."""

    model_version = "probe-1"

    def __init__(self, url: str) -> None:
        # A short timeout: a lock held by ingest fails the probe instead of waiting 30 s.
        args = {"timeout": 0.5} if url.startswith("sqlite") else {}
        self.engine = create_engine(url, connect_args=args)
        self.sqlite = url.startswith("sqlite")
        self.committed: list[int] = []

    def predict(self, texts: list[str]) -> list[Prediction]:
        with self.engine.connect() as conn:
            if self.sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            self.committed.append(
                int(conn.execute(text("SELECT count(*) FROM documents")).scalar_one())
            )
            conn.rollback()
        return BaselineClassifier().predict(texts)


def test_a_long_ingest_commits_in_batches_and_classifies_outside_the_write(
    session: Session,
) -> None:
    # given a crawl of two and a half batches
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(source)
    session.commit()
    n = BATCH_SIZE * 2 + BATCH_SIZE // 2
    items = [
        FetchedItem(
            url=f"https://baothu.example.vn/tin/{i}.html",
            title=f"Tin số {i}: trường {i} khai giảng năm học mới",
            body=f"Trường số {i} đón {i * 7} học sinh lớp đầu cấp trong ngày hội.",
            published_at=datetime(2026, 12, 1, tzinfo=UTC),
        )
        for i in range(n)
    ]
    probe = _WriterProbe(session.get_bind().url.render_as_string(hide_password=False))
    # when
    stats = ingest(session, source, items, classifier=probe)
    # then each batch was classified without the writer lock held, after the batches
    # before it were committed
    assert stats.new == n
    assert probe.committed == [0, BATCH_SIZE, 2 * BATCH_SIZE]
    probe.engine.dispose()
