"""Text is stored as published: "Thanh Hóa" stays "Thanh Hóa" and "Thanh Hoá" stays
"Thanh Hoá" (NFC and control characters only); search and story matching still treat the
two spellings as one word."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document, Source
from core.search import get_backend
from core.search.base import SearchQuery
from core.search.indexer import index_pending
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import ingest
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer
from tests.crawlers.newsroom import Article, Newsroom

WHEN = datetime(2026, 12, 1, 1, tzinfo=UTC)
CLASSIC = [
    "Sở Giáo dục và Đào tạo Thanh Hóa yêu cầu các trường dừng thu các khoản ngoài quy định.",
    "Phụ huynh ở huyện Thọ Xuân phản ánh việc thu quỹ lớp và tiền học thêm trong giờ chính khóa.",
    "Ông Nguyễn Văn Hòa, phó giám đốc Sở, cho biết sẽ kiểm tra và xử lý nghiêm các sai phạm.",
]


def _modern(text: str) -> str:
    for classic, modern in (("Hóa", "Hoá"), ("Hòa", "Hoà"), ("khóa", "khoá")):
        text = text.replace(classic, modern)
    return text


def _source(session: Session, name: str) -> Source:
    source = Source(name=name, url=f"http://127.0.0.1:9/{len(name)}.xml")
    session.add(source)
    session.commit()
    return source


def test_title_lead_and_body_are_stored_as_published(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given an outlet writing "Thanh Hóa" (classic) in its feed and page, with an NFD title
    room = Newsroom(server)
    title = unicodedata.normalize("NFD", "Thanh Hóa: dừng thu tiền trái quy định")
    room.add(Article("/tin/thanh-hoa.html", title, "Sở Giáo dục Thanh Hóa vào cuộc.", CLASSIC))
    source = room.source(session)
    # when
    crawl(session, source.id, settings=settings)
    # then the words are the outlet's own, only composed to NFC
    doc = session.scalars(select(Document)).one()
    assert doc.title == "Thanh Hóa: dừng thu tiền trái quy định"
    assert doc.lead == "Sở Giáo dục Thanh Hóa vào cuộc."
    assert doc.body == "\n\n".join(CLASSIC)
    # and an item written the modern way keeps the modern way
    modern = _modern(CLASSIC[2])
    ingest(
        session,
        source,
        [FetchedItem(url="https://x.example.vn/a.html", title=modern, published_at=WHEN)],
    )
    assert session.scalars(select(Document).where(Document.title == modern)).one()


def test_both_spellings_are_found_by_search_and_join_one_story(session: Session) -> None:
    # given the same news from two outlets, one spelling "Hóa", the other "Hoá"
    a, b = _source(session, "Báo A"), _source(session, "Báo Bê")
    body = "\n\n".join(CLASSIC)
    ingest(
        session,
        a,
        [
            FetchedItem(
                url="https://a.example.vn/1.html",
                title="Thanh Hóa dừng thu",
                body=body,
                published_at=WHEN,
            )
        ],
    )
    ingest(
        session,
        b,
        [
            FetchedItem(
                url="https://b.example.vn/1.html",
                title="Thanh Hoá dừng thu",
                body=_modern(body),
                published_at=WHEN,
            )
        ],
    )
    docs = session.scalars(select(Document).order_by(Document.source_id)).all()
    # then each is stored verbatim, both are one story
    assert [d.title for d in docs] == ["Thanh Hóa dừng thu", "Thanh Hoá dừng thu"]
    assert docs[0].story_id == docs[1].story_id
    # and a search in either spelling finds both
    backend = get_backend()
    index_pending(session, backend)
    for q in ("Thanh Hóa", "Thanh Hoá", "thanh hoa", '"Nguyễn Văn Hoà"'):
        hits = {h.id for h in backend.search(SearchQuery(q=q, size=10)).hits}
        assert hits == {d.id for d in docs}, q
