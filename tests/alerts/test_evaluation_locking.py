"""Alert evaluation of a big batch holds the write lock briefly (issue 15: a crawl's or a
relabel's whole batch was evaluated in one transaction)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from alerts.detection.evaluate import EVALUATE_CHUNK, evaluate_many
from core import db
from core.models import Alert, Classification, Document, Rule, Source, Story
from tests.conftest import TEST_DATABASE

STORIES, PER_STORY = 60, 25  # 1,500 documents
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _corpus(session: Session) -> list[str]:
    """Stories of reports from several outlets; every other story is about "lạm thu"."""
    sources = [Source(name=f"Báo {i}", url=f"https://bao{i}.example.vn/rss") for i in range(5)]
    session.add_all(sources)
    stories = [
        Story(title=f"Sự việc {s}", first_seen_at=T0, last_seen_at=T0, doc_count=PER_STORY)
        for s in range(STORIES)
    ]
    session.add_all(stories)
    session.flush()
    docs, labels = [], []
    for s, story in enumerate(stories):
        topic = "lạm thu tiền học thêm" if s % 2 == 0 else "khen thưởng học sinh giỏi"
        for k in range(PER_STORY):
            url = f"https://bao.example.vn/su-viec-{s}-{k}.html"
            doc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, url))
            docs.append(
                {
                    "id": doc_id, "source_id": sources[k % 5].id, "url": url,
                    "canonical_url": url, "story_id": story.id,
                    "title": f"Phụ huynh phản ánh {topic} ở trường số {s}",
                    "lead": f"Bài {k} về {topic}.",
                    "body": f"Nhà trường giải trình về {topic}. " * 40,
                    "published_at": T0 + timedelta(minutes=k),
                }
            )  # fmt: skip
            labels.append(
                {
                    "document_id": doc_id, "model_version": "test", "topics": ["hoc_phi_thu_chi"],
                    "sentiment": "tieu_cuc", "risk": "nong" if s % 2 == 0 else "binh_thuong",
                    "risk_score": 0.9 if s % 2 == 0 else 0.1,
                }
            )  # fmt: skip
    session.execute(insert(Document), docs)
    session.execute(insert(Classification), labels)
    session.add(Rule(name="Lạm thu", query='"lạm thu"', severity="high"))
    session.commit()
    return [d["id"] for d in docs]


@pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="the SQLite file's one write lock")
def test_evaluating_a_big_batch_holds_the_write_lock_briefly(session: Session) -> None:
    # given 1,500 new documents in 60 stories, handed over as one batch (as a crawl does)
    ids = _corpus(session)
    db.reset_write_stats()
    # when they are evaluated
    out = evaluate_many(session, ids)
    # then the work went in chunks, none holding the lock past the target
    stats = db.write_stats()
    assert stats.transactions >= len(ids) // EVALUATE_CHUNK
    assert stats.longest_s <= 0.25, stats
    # and the outcome is whole: one rule alert per "lạm thu" story, nothing twice
    rule_alerts = session.scalars(select(Alert).where(Alert.kind == "rule")).all()
    assert len(rule_alerts) == STORIES // 2
    assert len({a.story_id for a in rule_alerts}) == STORIES // 2
    assert set(out.notify) >= {a.id for a in rule_alerts}
    hot = session.scalar(select(func.count()).where(Alert.kind == "hot"))
    assert hot == len(
        {a.story_id for a in session.scalars(select(Alert).where(Alert.kind == "hot"))}
    )
