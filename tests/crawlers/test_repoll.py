"""A second RSS poll of an unchanged feed changes nothing: no body replaced by the feed's
summary, no document moved to another story, no page fetched again; and an RSS item is named
by its page's canonical URL, so an RSS poll and a site crawl of one article are one document."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Document, Source, Story
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.identity import canonical_url, document_id
from crawlers.pipeline import ingest
from crawlers.revisions import measure_repoll
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer
from tests.crawlers.newsroom import Article, Newsroom, paragraphs

# Unlike paragraphs(): a different news item, so a story of its own.
DIGITAL = [
    "Từ tháng tới, mọi học sinh tiểu học trong tỉnh được cấp học bạ số thay cho sổ giấy.",
    "Phụ huynh tra cứu điểm và nhận xét của con qua ứng dụng của nhà trường trên điện thoại.",
    "Các trường miền núi được hỗ trợ máy tính bảng và đường truyền để kịp thực hiện.",
    "Giáo viên sẽ được tập huấn sử dụng phần mềm trong kỳ nghỉ giữa học kỳ.",
]


def _newsroom(server: LocalServer) -> Newsroom:
    room = Newsroom(server)
    exam = paragraphs("kỳ thi tuyển sinh lớp 10")
    room.add(
        Article("/tin/thi-lop-10.html", "Công bố phương án thi lớp 10", "Sở chốt ba môn.", exam)
    )
    # A second article with the same text: one story of two documents.
    room.add(
        Article(
            "/tin/thi-lop-10-chi-tiet.html",
            "Chi tiết phương án thi lớp 10 năm nay",
            "Ba môn thi, lịch thi đầu tháng sáu.",
            [*exam, "Thí sinh cần theo dõi thông báo của trường để kịp đăng ký."],
        )
    )
    room.add(
        Article(
            "/tin/chuyen-doi-so.html",
            "Chuyển đổi số trong trường học",
            "Học bạ số cho mọi học sinh.",
            DIGITAL,
        )
    )
    return room


def test_second_poll_of_an_unchanged_feed_updates_shortens_and_moves_nothing(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given a feed of summaries whose pages were read on the first poll
    room = _newsroom(server)
    source = room.source(session)
    first = crawl(session, source.id, settings=settings)
    assert first.items_new == 3
    stories = session.scalar(select(func.count()).select_from(Story))
    assert stories == 2
    runs = []
    # when the unchanged feed is polled again
    report = measure_repoll(
        session, lambda: runs.append(crawl(session, source.id, settings=settings)), [source.id]
    )
    second = runs[0]
    # then nothing changed and no page was fetched again
    assert (second.items_updated, report.updated, report.shortened, report.stories_changed) == (
        0,
        0,
        0,
        0,
    )
    assert session.scalar(select(func.count()).select_from(Story)) == stories
    assert room.page_hits() == 3
    for doc in session.scalars(select(Document)):
        assert len(doc.body) > 200 and doc.meta["body_from"] == "page"


def test_a_changed_feed_entry_rereads_the_page_and_never_shortens_the_body(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given a stored article
    room = _newsroom(server)
    source = room.source(session)
    crawl(session, source.id, settings=settings)
    doc_id = document_id(canonical_url(server.url("/tin/chuyen-doi-so.html")))
    body = session.get(Document, doc_id).body  # type: ignore[union-attr]
    # when the feed's date of that item moves (the page is unchanged)
    room.articles[2].pub_date = "Fri, 04 Dec 2026 09:30:00 +0700"
    crawl(session, source.id, settings=settings)
    # then its page was read again and the body is still the page's
    session.expire_all()
    doc = session.get(Document, doc_id)
    assert doc is not None and doc.body == body
    assert room.page_hits("/tin/chuyen-doi-so.html") == 2
    assert room.page_hits("/tin/thi-lop-10.html") == 1


def test_rss_item_is_named_by_its_page_canonical_url_and_meets_the_site_crawl(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given a feed whose link is not the article's canonical URL
    room = Newsroom(server)
    room.add(
        Article(
            "/rss-redirect/bai-77.html",
            "Trường học an toàn mùa mưa bão",
            "Sở yêu cầu kiểm tra phòng học.",
            paragraphs("phòng chống thiên tai"),
            canonical="/giao-duc/truong-hoc-an-toan-77.html",
        )
    )
    source = room.source(session)
    page = server.url("/giao-duc/truong-hoc-an-toan-77.html")
    expected_id = document_id(canonical_url(page))
    # when it is polled twice
    crawl(session, source.id, settings=settings)
    crawl(session, source.id, settings=settings)
    # then one document, named by the canonical URL, on both polls
    (doc,) = session.scalars(select(Document)).all()
    assert doc.id == expected_id and doc.canonical_url == canonical_url(page)
    # and a site crawl of the same article (site mode stores the canonical URL) is that
    # same document, not a second one
    site = Source(name="Báo Thử nghiệm (trang)", kind="site", url=server.url("/"))
    session.add(site)
    session.commit()
    item = FetchedItem(url=page, title=doc.title, lead=doc.lead, body=doc.body)
    stats = ingest(session, site, [item])
    assert stats.new == 0
    assert session.scalar(select(func.count()).select_from(Document)) == 1


def test_pages_left_over_by_the_page_limit_are_read_on_later_polls(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given three new items and a limit of two article pages per poll
    room = _newsroom(server)
    source = room.source(session)
    source.config = {"max_pages": 2}
    session.commit()
    # when the unchanged feed is polled three times
    runs = [crawl(session, source.id, settings=settings) for _ in range(3)]
    # then the third page was read on the second poll and nothing after that
    assert room.page_hits() == 3
    assert "wait for the next poll" in (runs[0].error or "")
    session.expire_all()
    for doc in session.scalars(select(Document)):
        assert doc.meta["body_from"] == "page" and "page_pending" not in doc.meta


def test_a_future_dated_item_is_not_fetched_again_on_every_poll(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given an item dated years ahead (the fetch time stands in for it)
    room = Newsroom(server)
    room.add(
        Article(
            "/tin/lich-thi.html",
            "Lịch thi học kỳ hai",
            "Các trường thi từ giữa tháng năm.",
            DIGITAL,
            pub_date="Mon, 01 Jan 2035 08:00:00 +0700",
        )
    )
    source = room.source(session)
    crawl(session, source.id, settings=settings)
    # when the unchanged feed is polled again
    second = crawl(session, source.id, settings=settings)
    # then the stand-in date did not make it look changed
    assert second.items_updated == 0 and room.page_hits() == 1


def test_a_broken_page_canonical_falls_back_to_the_feed_link(session: Session) -> None:
    # given a page whose canonical link is unusable
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(source)
    session.commit()
    link = "https://baothu.example.vn/tin/1.html"
    item = FetchedItem(url=link, title="Tin", body="Nội dung.", canonical_url="ftp://x/1")
    # when
    stats = ingest(session, source, [item])
    # then the item is stored under its feed link, not lost
    assert stats.new == 1
    assert session.get(Document, document_id(canonical_url(link))) is not None
