"""A feed item whose article page answers 404/410 keeps the feed's own text and date, is
flagged as unavailable, and its page is tried again on later polls."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document, DocumentRevision
from core.settings import Settings
from crawlers.connectors.rss import parse_feed_date
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer
from tests.crawlers.newsroom import Article, Newsroom, paragraphs

PATH = "/tin/go-bai.html"
NOW = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "Fri, 04 Dec 2026 08:00:00 GMT+7",
        "Fri, 04 Dec 2026 08:00:00 +0700",
        "Fri, 04 Dec 2026 08:00:00 GMT+07:00",
        "Thứ Sáu, 04/12/2026 08:00 GMT+7",
    ],
)
def test_feed_dates_with_gmt_plus_7_and_vietnamese_names_parse(raw: str) -> None:
    assert parse_feed_date(raw, NOW) == datetime(2026, 12, 4, 1, tzinfo=UTC)


def test_gone_page_keeps_the_feed_text_and_date_and_is_retried_until_it_answers(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given a feed item dated the outlet's way ("GMT+7") whose page answers 404
    room = Newsroom(server)
    article = room.add(
        Article(
            PATH,
            "Thu hồi quyết định điều chuyển giáo viên",
            "Huyện thu hồi quyết định sau phản ánh của phụ huynh.",
            paragraphs("điều chuyển giáo viên"),
            pub_date="Fri, 04 Dec 2026 08:00:00 GMT+7",
            status=404,
        )
    )
    source = room.source(session)
    # when it is polled
    run = crawl(session, source.id, settings=settings)
    # then the document holds the feed's text and date, flagged as unavailable
    doc = session.scalars(select(Document)).one()
    assert run.items_new == 1
    assert doc.title == "Thu hồi quyết định điều chuyển giáo viên"
    assert doc.lead == "Huyện thu hồi quyết định sau phản ánh của phụ huynh."
    assert doc.published_at == datetime(2026, 12, 4, 1, tzinfo=UTC)
    assert "published_at_from" not in doc.meta
    flag = doc.meta["page_unavailable"]
    assert flag["status"] == 404 and flag["gone"] is True
    # when polled again while still gone, the page is asked for again
    crawl(session, source.id, settings=settings)
    assert room.page_hits(PATH) == 2
    # when the page answers on a later poll
    article.status = 200
    crawl(session, source.id, settings=settings)
    # then the body comes from the page, the flag is gone, and it is not counted as an edit
    session.expire_all()
    doc = session.scalars(select(Document)).one()
    assert "điều chuyển giáo viên" in doc.body and doc.meta["body_from"] == "page"
    assert "page_unavailable" not in doc.meta
    assert session.scalars(select(DocumentRevision)).all() == []
    # and the next unchanged poll leaves the page alone
    crawl(session, source.id, settings=settings)
    assert room.page_hits(PATH) == 3


def test_a_page_taken_down_after_it_was_read_keeps_its_text_and_is_flagged(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given an article read from its page
    room = Newsroom(server)
    article = room.add(
        Article(
            PATH, "Giáo viên bị tố đánh học sinh", "Sở vào cuộc.", paragraphs("kỷ luật giáo viên")
        )
    )
    source = room.source(session)
    crawl(session, source.id, settings=settings)
    body = session.scalars(select(Document)).one().body
    # when the outlet takes the page down (410) and changes the feed entry
    article.status = 410
    article.summary = "Bài viết đã được gỡ."
    crawl(session, source.id, settings=settings)
    # then the text read earlier stays, flagged as gone
    session.expire_all()
    doc = session.scalars(select(Document)).one()
    assert doc.body == body and doc.lead == "Sở vào cuộc."
    assert doc.meta["page_unavailable"]["status"] == 410
