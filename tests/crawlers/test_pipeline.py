"""The ingest pipeline on a real SQLite database: canonical URLs, idempotent upserts,
per-item error isolation, classification and the hand-over to indexing."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifier.baseline import MODEL_VERSION, Prediction
from core.models import Classification, Document, Source, Story, utcnow
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import canonical_url, document_id, ingest


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://VnExpress.NET/bai-viet-123.html", "https://vnexpress.net/bai-viet-123.html"),
        ("https://vnexpress.net:443/a.html", "https://vnexpress.net/a.html"),
        ("http://vnexpress.net:80/a.html", "http://vnexpress.net/a.html"),
        ("http://vnexpress.net:8080/a.html", "http://vnexpress.net:8080/a.html"),
        ("https://tuoitre.vn/a.htm#binh-luan", "https://tuoitre.vn/a.htm"),
        (
            "https://tuoitre.vn/a.htm?utm_source=zalo&utm_medium=social&zarsrc=30&fbclid=XyZ",
            "https://tuoitre.vn/a.htm",
        ),
        ("https://x.vn/a?b=2&gclid=1&a=1", "https://x.vn/a?a=1&b=2"),
        ("https://m.dantri.com.vn/giao-duc/a.htm", "https://dantri.com.vn/giao-duc/a.htm"),
        ("https://vietnamnet.vn/giao-duc/a.html/amp", "https://vietnamnet.vn/giao-duc/a.html"),
        ("https://thanhnien.vn/a-185.amp", "https://thanhnien.vn/a-185"),
        ("https://x.vn/a?amp=1", "https://x.vn/a"),
        ("https://x.vn/giao-duc/", "https://x.vn/giao-duc"),
        ("https://x.vn", "https://x.vn/"),
        ("https://m.vn/a", "https://m.vn/a"),
        ("  https://x.vn/a?id=5  ", "https://x.vn/a?id=5"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    # when / then
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url", ["", "/relative/path", "ftp://x.vn/a", "mailto:a@x.vn"])
def test_canonical_url_refuses_non_http(url: str) -> None:
    # when / then
    with pytest.raises(ValueError):
        canonical_url(url)


def test_document_id_from_url_or_native_id() -> None:
    # given
    a = canonical_url("https://x.vn/a.html?utm_source=fb")
    b = canonical_url("https://m.x.vn/a.html#top")
    # when / then
    assert document_id(a) == document_id(b)
    assert document_id(source_id=3, native_id="post-9") == document_id(None, 3, "post-9")
    assert document_id(source_id=3, native_id="post-9") != document_id(
        source_id=4, native_id="post-9"
    )
    with pytest.raises(ValueError):
        document_id()


@pytest.fixture
def source(session: Session) -> Source:
    src = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(src)
    session.commit()
    return src


def _item(n: int, **kw: object) -> FetchedItem:
    values: dict[str, object] = {
        "url": f"https://baothu.example.vn/giao-duc/bai-{n}.html",
        "title": f"Học sinh trường THCS số {n} đạt giải nhất",
        "lead": "Sở Giáo dục và Đào tạo khen thưởng học sinh giỏi.",
        "body": "Các em được trao bằng khen và học bổng.",
        "published_at": datetime(2024, 9, n, 1, tzinfo=UTC),
        "native_id": f"guid-{n}",
    }
    values.update(kw)
    return FetchedItem(**values)  # type: ignore[arg-type]


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_new_items_become_documents_with_stories_and_classifications(
    session: Session, source: Source
) -> None:
    # given: one title uses the new-style tone placement and decomposed (NFD) characters
    odd = unicodedata.normalize("NFD", "Trường mầm non Hoà Bình khai giảng")
    items = [_item(1), _item(2), _item(3, title=odd, author="  Minh   Châu ")]
    # when
    stats = ingest(session, source, items)
    # then
    assert (stats.seen, stats.new, stats.updated, stats.unchanged, stats.errors) == (3, 3, 0, 0, 0)
    doc = session.get(Document, document_id(canonical_url(items[2].url or "")))
    assert doc is not None
    assert doc.title == "Trường mầm non Hòa Bình khai giảng"
    assert doc.author == "Minh Châu"
    assert doc.indexed_at is None and doc.content_hash
    assert doc.story is not None and doc.story.doc_count == 1 and doc.story.title == doc.title
    assert _count(session, Story) == 3
    cls = doc.classification
    assert cls is not None and cls.model_version == MODEL_VERSION
    assert 1 <= len(cls.topics) <= 3


def test_same_items_twice_change_nothing(session: Session, source: Source) -> None:
    # given: ingested and then indexed
    items = [_item(1), _item(2)]
    ingest(session, source, items)
    indexed = utcnow()
    for doc in session.scalars(select(Document)):
        doc.indexed_at = indexed
    session.commit()
    stamps = {d.id: d.updated_at for d in session.scalars(select(Document))}
    # when
    stats = ingest(session, source, [_item(1), _item(2)])
    # then
    assert (stats.new, stats.updated, stats.unchanged) == (0, 0, 2)
    assert _count(session, Document) == 2 and _count(session, Story) == 2
    assert _count(session, Classification) == 2
    for doc in session.scalars(select(Document)):
        assert doc.indexed_at == indexed and doc.updated_at == stamps[doc.id]


def test_changed_item_is_updated_and_queued_for_reindexing(
    session: Session, source: Source
) -> None:
    # given
    ingest(session, source, [_item(1)])
    doc = session.scalars(select(Document)).one()
    doc.indexed_at = utcnow()
    session.commit()
    first_update = doc.updated_at
    # when: the outlet rewrote the story as an incident report
    changed = _item(
        1,
        title="Học sinh bị đánh hội đồng, phụ huynh bức xúc",
        body="Vụ bạo lực học đường khiến một học sinh phải nhập viện.",
    )
    stats = ingest(session, source, [changed])
    # then
    assert (stats.new, stats.updated, stats.unchanged) == (0, 1, 0)
    session.refresh(doc)
    assert doc.title == "Học sinh bị đánh hội đồng, phụ huynh bức xúc"
    assert doc.indexed_at is None and doc.updated_at > first_update
    rows = session.scalars(select(Classification).where(Classification.document_id == doc.id))
    (row,) = rows.all()
    assert row.risk == "nong" and "bao_luc_hoc_duong" in row.topics


def test_tracking_variants_in_one_batch_make_one_document(session: Session, source: Source) -> None:
    # given
    a = _item(1, url="https://baothu.example.vn/giao-duc/bai-1.html?utm_source=zalo")
    b = _item(1, url="https://m.baothu.example.vn/giao-duc/bai-1.html#top")
    # when
    stats = ingest(session, source, [a, b])
    # then
    assert (stats.seen, stats.new, stats.unchanged) == (2, 1, 1)
    assert _count(session, Document) == 1


def test_bad_items_do_not_cost_the_good_ones(session: Session, source: Source) -> None:
    # given: no identity, a non-text title, no text at all, and a row the database rejects
    bad = [
        _item(2, url=None, native_id=None),
        _item(3, title=12345),
        _item(4, title="", lead="", body=""),
        _item(5, meta={"not json": object()}),
    ]
    # when
    stats = ingest(session, source, [_item(1), *bad, _item(6)])
    # then
    assert (stats.seen, stats.new, stats.errors) == (6, 2, 4)
    assert len(stats.error_messages) == 4
    titles = sorted(d.title for d in session.scalars(select(Document)))
    assert titles == [
        "Học sinh trường THCS số 1 đạt giải nhất",
        "Học sinh trường THCS số 6 đạt giải nhất",
    ]
    assert _count(session, Story) == 2


def test_item_without_url_gets_id_from_source_and_native_id(
    session: Session, source: Source
) -> None:
    # when
    ingest(session, source, [_item(1, url=None, native_id="fb-post-77", kind="post", likes=5)])
    # then
    doc = session.get(Document, document_id(source_id=source.id, native_id="fb-post-77"))
    assert doc is not None and doc.kind == "post" and doc.likes == 5 and doc.url is None


class _FixedClassifier:
    """A stand-in plug-in that labels everything the same way."""

    model_version = "fixed-test-1"

    def predict(self, texts: list[str]) -> list[Prediction]:
        return [
            Prediction(0.9, ["nha_giao"], {"nha_giao": 0.9}, "tich_cuc", 0.5, "binh_thuong",
                       0.1, 0.0, 0.0, model_version=self.model_version)
            for _ in texts
        ]  # fmt: skip


class _BrokenClassifier:
    model_version = "broken-1"

    def predict(self, texts: list[str]) -> list[Prediction]:
        raise RuntimeError("model file missing")


def test_given_classifier_is_used_and_a_broken_one_loses_nothing(
    session: Session, source: Source
) -> None:
    # when
    ingest(session, source, [_item(1)], classifier=_FixedClassifier())
    stats = ingest(session, source, [_item(2)], classifier=_BrokenClassifier())
    # then
    first = session.get(Document, document_id(canonical_url(_item(1).url or "")))
    assert first is not None and first.classification is not None
    assert first.classification.model_version == "fixed-test-1"
    assert stats.new == 1 and _count(session, Document) == 2


def test_new_documents_are_handed_to_the_indexer(
    session: Session, source: Source, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the embedded broker (a SQLite file under the test's data dir)
    # when
    ingest(session, source, [_item(1)])
    # then
    broker = Path(settings.data_dir) / "broker.sqlite3"
    with sqlite3.connect(broker) as conn:
        payloads = [json.loads(p) for (p,) in conn.execute("select payload from kombu_message")]
    assert [p["headers"]["task"] for p in payloads] == ["index_documents"]


def test_unchanged_recrawl_queues_nothing(
    session: Session, source: Source, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    ingest(session, source, [_item(1)])
    # when
    ingest(session, source, [_item(1)])
    # then
    broker = Path(settings.data_dir) / "broker.sqlite3"
    with sqlite3.connect(broker) as conn:
        (count,) = conn.execute("select count(*) from kombu_message").fetchone()
    assert count == 1
