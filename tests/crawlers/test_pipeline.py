"""The ingest pipeline on a real SQLite database: canonical URLs, idempotent upserts,
per-item error isolation, classification and the hand-over to indexing."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from classifier.base import Prediction
from classifier.baseline import MODEL_VERSION
from core.models import Classification, Document, Source, Story, utcnow
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.identity import canonical_url, document_id
from crawlers.pipeline import ingest
from tests.brokers import queued_tasks
from tests.crawlers.test_encoding import to_tcvn3, to_vni


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


# Distinct news per item number: near-identical texts would rightly share one story.
_LEADS = [
    "Sở Giáo dục và Đào tạo khen thưởng học sinh giỏi.",
    "Đội tuyển của trường vượt qua hơn hai trăm thí sinh toàn tỉnh.",
    "Nhà trường tổ chức lễ tuyên dương vào sáng thứ hai đầu tuần.",
    "Em dành trọn mùa hè để luyện đề cùng thầy cô.",
    "Phụ huynh và thầy cô đến chúc mừng rất đông.",
    "Giải thưởng năm nay có thêm hạng mục sáng tạo kỹ thuật.",
]
_BODIES = [
    "Các em được trao bằng khen và học bổng.",
    "Ban tổ chức đánh giá cao cách trình bày mạch lạc của thí sinh.",
    "Thầy hiệu trưởng hứa sẽ đầu tư thêm phòng thí nghiệm.",
    "Kết quả này giúp trường đứng đầu huyện về số giải.",
    "Đây là lần thứ ba liên tiếp trường có học sinh đoạt giải.",
    "Bộ môn Tin học được bổ sung mười máy tính mới.",
]


def _item(n: int, **kw: object) -> FetchedItem:
    values: dict[str, object] = {
        "url": f"https://baothu.example.vn/giao-duc/bai-{n}.html",
        "title": f"Học sinh trường THCS số {n} đạt giải nhất",
        "lead": _LEADS[n % len(_LEADS)],
        "body": _BODIES[n % len(_BODIES)],
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
    # (stored as published, composed to NFC; tone placement is folded only in match keys)
    odd = unicodedata.normalize("NFD", "Trường mầm non Hoà Bình khai giảng")
    items = [_item(1), _item(2), _item(3, title=odd, author="  Minh   Châu ")]
    # when
    stats = ingest(session, source, items)
    # then
    assert (stats.seen, stats.new, stats.updated, stats.unchanged, stats.errors) == (3, 3, 0, 0, 0)
    doc = session.get(Document, document_id(canonical_url(items[2].url or "")))
    assert doc is not None
    assert doc.title == "Trường mầm non Hoà Bình khai giảng"
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


def test_recrawl_keeps_what_people_added_to_meta(session: Session, source: Source) -> None:
    # given: a crawled article that staff also reported through the tipline
    ingest(session, source, [_item(1, meta={"feed": "rss"})])
    doc = session.scalars(select(Document)).one()
    doc.meta = {**doc.meta, "submissions": [{"by": "Phụ huynh qua Zalo"}]}
    session.commit()
    # when the outlet edits the article and it is crawled again
    ingest(session, source, [_item(1, title="Tiêu đề đã sửa", meta={"feed": "rss2"})])
    # then the crawler's meta is refreshed and the people's part is kept
    session.refresh(doc)
    assert doc.title == "Tiêu đề đã sửa"
    assert doc.meta["feed"] == "rss2"
    assert doc.meta["submissions"] == [{"by": "Phụ huynh qua Zalo"}]


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
    # given: a real broker (the embedded SQLite one, or Redis)
    # when
    ingest(session, source, [_item(1)])
    # then
    names = [name for name, _ in queued_tasks(settings)]
    assert sorted(names) == ["evaluate_documents", "index_documents"]


def test_unchanged_recrawl_queues_nothing(
    session: Session, source: Source, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    ingest(session, source, [_item(1)])
    # when
    ingest(session, source, [_item(1)])
    # then
    # the first ingest's index_documents and evaluate_documents
    assert len(queued_tasks(settings)) == 2


def test_alert_evaluation_is_queued_once_per_ingest_for_new_or_changed_documents(
    session: Session, source: Source, settings: Settings
) -> None:
    # given: alerts/detection/tasks.py registers evaluate_documents; the pipeline sends it by name
    # when
    ingest(session, source, [_item(1), _item(2)])
    ingest(session, source, [_item(1), _item(2)])  # unchanged: nothing more
    # then
    ids = {document_id(canonical_url(_item(n).url or "")) for n in (1, 2)}
    tasks = dict(queued_tasks(settings))  # one message per task name
    assert sorted(tasks) == ["evaluate_documents", "index_documents"]
    assert set(tasks["evaluate_documents"][0]) == ids  # one batch with both documents


def test_items_without_a_date_get_the_fetch_time_once(session: Session, source: Source) -> None:
    # given
    before = utcnow()
    ingest(session, source, [_item(1, published_at=None)])
    doc = session.scalars(select(Document)).one()
    first = doc.published_at
    # when: re-crawled unchanged, then with new text, still without a date
    ingest(session, source, [_item(1, published_at=None)])
    ingest(session, source, [_item(1, published_at=None, body="Bài đã được cập nhật thêm.")])
    # then
    session.refresh(doc)
    assert first is not None and before <= first <= utcnow()
    assert doc.published_at == first and doc.body == "Bài đã được cập nhật thêm."
    assert doc.meta["published_at_from"] == "fetched_at"


def test_dates_far_in_the_future_are_replaced(session: Session, source: Source) -> None:
    # given: a connector that does not check dates itself
    future = datetime(2099, 1, 1, tzinfo=UTC)
    # when
    stats = ingest(session, source, [_item(1, published_at=future), _item(2)])
    # then
    doc = session.get(Document, document_id(canonical_url(_item(1).url or "")))
    assert stats.new == 2 and doc is not None and doc.published_at is not None
    assert doc.published_at < future and "2099-01-01" in doc.meta["published_at_note"]


def test_tcvn3_and_vni_fields_are_repaired_as_a_last_resort(
    session: Session, source: Source
) -> None:
    # given: a connector that handed over font-encoding mojibake as text
    title, lead = "Trường học mở cửa đón học sinh trở lại", "Phụ huynh yên tâm hơn."
    items = [
        _item(1, title=to_tcvn3(title).decode("cp1252"), lead=to_tcvn3(lead).decode("cp1252")),
        _item(2, title=to_vni(title), lead=to_vni(lead), author=to_vni("Nguyễn Thị Hương")),
    ]
    # when
    ingest(session, source, items)
    # then
    docs = {d.url: d for d in session.scalars(select(Document))}
    first, second = docs[items[0].url], docs[items[1].url]
    assert (first.title, first.lead, first.meta["text_repaired_from"]) == (title, lead, "tcvn3")
    assert (second.title, second.author, second.meta["text_repaired_from"]) == (
        title,
        "Nguyễn Thị Hương",
        "vni",
    )


def test_a_document_another_worker_inserted_meanwhile_is_updated_not_duplicated(
    session: Session, source: Source
) -> None:
    # given: another worker commits the same article right after our lookup found nothing
    # (PostgreSQL allows it; SQLite queues writers, so the row is written on our connection)
    item = _item(1)
    doc_id = document_id(canonical_url(item.url or ""))
    engine = session.get_bind()
    raced: list[bool] = []
    mark = "?" if engine.dialect.name == "sqlite" else "%s"  # the driver's own paramstyle

    def other_worker(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        if not raced and "FROM documents" in statement and "documents.id IN" in statement:
            raced.append(True)
            cursor.connection.execute(
                "INSERT INTO documents (id, source_id, kind, url, title, lead, body,"
                " fetched_at, updated_at, content_hash, meta) VALUES"
                f" ({mark}, {mark}, 'article', {mark}, 'Bản cũ', '', '', {mark}, {mark},"
                " 'older', '{}')",
                (doc_id, source.id, item.url, "2026-01-01 00:00:00.000000", "2026-01-01 00:00:00"),
            )

    event.listen(engine, "after_cursor_execute", other_worker)
    try:
        # when
        stats = ingest(session, source, [item])
    finally:
        event.remove(engine, "after_cursor_execute", other_worker)
    # then
    assert raced and (stats.new, stats.updated, stats.errors) == (0, 1, 0)
    doc = session.scalars(select(Document)).one()
    assert doc.title == item.title and doc.story is not None and doc.story.doc_count == 1
