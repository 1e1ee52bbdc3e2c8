"""The XenForo forum connector against a fixture forum on 127.0.0.1, through crawl()."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.models import Source
from core.settings import Settings
from crawlers.identity import canonical_url, document_id
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer, Reply
from tests.crawlers.social.conftest import add_source, documents
from tests.crawlers.social.fakeforum import VN, FakeForum, ForumPost

# Threads A (2 posts), B (5, one quote-only), C (1), D (3), E (4 pages, 3 read).
POSTS = 5
COMMENTS = 1 + 3 + 0 + 2 + 2


def _source(session: Session, url: str, **config: object) -> Source:
    return add_source(session, "forum", url, {"forum_url": url, **config})


def _paths(server: LocalServer) -> list[str]:
    return [r["path"] for r in server.requests]


def test_threads_and_replies_are_stored(
    session: Session, settings: Settings, server: LocalServer, forum: tuple[FakeForum, str]
) -> None:
    # given
    _, url = forum
    source = _source(session, url)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok", run.error
    posts, comments = documents(session, "post"), documents(session, "comment")
    assert (len(posts), len(comments)) == (POSTS, COMMENTS)
    thread_url = server.url("/threads/hoc-them-o-truong-co-bat-buoc-khong.1002/")
    hoc_them = next(p for p in posts if p.url == thread_url)
    assert hoc_them.id == document_id(canonical_url(thread_url))
    assert hoc_them.title == "Học thêm ở trường có bắt buộc không?"
    assert hoc_them.body == (
        "Trường con tôi thông báo học thêm buổi chiều, mỗi tháng đóng 400.000 đồng.\n"
        "Xin hỏi các phụ huynh: việc này có bắt buộc không?"
    )
    assert (hoc_them.author, hoc_them.native_id, hoc_them.comments) == ("Phạm Minh Tuấn", "2001", 4)
    assert hoc_them.meta["views"] == 356
    replies = {c.native_id: c for c in comments if c.meta["parent"] == hoc_them.id}
    # the quote-only reply (2011) has nothing of its own and is left out
    assert set(replies) == {"2002", "2003", "2010"}
    assert replies["2010"].body == "Cảm ơn chị. Tôi sẽ gửi phản ánh lên Phòng Giáo dục."
    assert replies["2010"].meta["quoted"] == ["Lê Thu Trang"]
    assert replies["2010"].meta["permalink"] == f"{thread_url}post-2010"
    assert replies["2010"].id == document_id(source_id=source.id, native_id="2010")
    assert "Vì con em chúng ta" not in replies["2002"].body  # the signature is not the post
    # sticky thread with a prefix label: the label is not part of the title
    lich_hop = next(p for p in posts if p.native_id == "1101")
    assert lich_hop.title == "Lịch họp phụ huynh đầu năm học"
    assert lich_hop.meta["views"] == 1200


def test_local_forum_times_become_utc(
    session: Session, settings: Settings, forum: tuple[FakeForum, str]
) -> None:
    # given
    _, url = forum
    source = _source(session, url)
    # when
    crawl(session, source.id, settings=settings)
    # then every style of time.u-dt gives the same instant: 20:15 in Hanoi is 13:15 UTC
    by_id = {d.native_id: d.published_at for d in documents(session)}
    assert by_id["2001"] == datetime(2024, 9, 10, 13, 15, tzinfo=UTC)  # data-time epoch
    assert by_id["2002"] == datetime(2024, 9, 10, 14, 40, tzinfo=UTC)  # datetime="+0700"
    assert by_id["2003"] == datetime(2024, 9, 10, 23, 5, tzinfo=UTC)  # naive: local, day before


def test_pages_are_followed_through_relative_links(
    session: Session, settings: Settings, server: LocalServer, forum: tuple[FakeForum, str]
) -> None:
    # given
    _, url = forum
    source = _source(session, url)
    # when
    crawl(session, source.id, settings=settings)
    # then the listing's page 2 and the thread's page 2 were read
    paths = _paths(server)
    assert "/forums/giao-duc.5/page-2" in paths
    assert "/threads/hoc-them-o-truong-co-bat-buoc-khong.1002/page-2" in paths
    # and a thread longer than max_thread_pages (3) is read at its start and newest pages
    long_thread = "/threads/tong-hop-cau-hoi-tuyen-sinh-lop-6.1005/"
    assert [p for p in paths if p.startswith(long_thread)] == [
        long_thread,
        long_thread + "page-3",
        long_thread + "page-4",
    ]
    native_ids = {d.native_id for d in documents(session)}
    assert {"5001", "5003", "5004"} <= native_ids and "5002" not in native_ids


def test_scripts_are_dropped_but_typed_markup_is_kept_as_text(
    session: Session, settings: Settings, forum: tuple[FakeForum, str]
) -> None:
    # given
    _, url = forum
    source = _source(session, url)
    # when
    crawl(session, source.id, settings=settings)
    # then
    by_id = {d.native_id: d for d in documents(session)}
    warning = by_id["4002"].body
    assert "<script>alert(1)</script>" in warning and "demLuotXem" not in warning
    assert by_id["4001"].body == (
        "Bữa trưa hôm qua của lớp 2A chỉ có rau và canh.\n\n"
        "Mong nhà trường công khai thực đơn hằng tuần."
    )


def test_recrawl_updates_without_duplicates(
    session: Session, settings: Settings, server: LocalServer, forum: tuple[FakeForum, str]
) -> None:
    # given a full crawl, then a new reply in one thread
    fake, url = forum
    source = _source(session, url, incremental=False)
    crawl(session, source.id, settings=settings)
    thread = fake.threads_by_page[0][2]
    thread.pages[0].append(
        ForumPost(3002, "Lương Thị Thảo", datetime(2024, 9, 9, 7, 0), "Chọn trường gần nhà.")
    )
    fake.install(server)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok" and (run.items_new, run.items_updated) == (1, 0)
    assert len(documents(session)) == POSTS + COMMENTS + 1
    opening = next(d for d in documents(session, "post") if d.native_id == "3001")
    assert opening.comments == 1


def test_incremental_poll_reads_only_threads_with_new_posts(
    session: Session, settings: Settings, server: LocalServer, forum: tuple[FakeForum, str]
) -> None:
    # given a first poll, then a reply written just now in one thread
    fake, url = forum
    source = _source(session, url)
    crawl(session, source.id, settings=settings)
    now_local = datetime.now(UTC).astimezone(VN).replace(tzinfo=None, microsecond=0)
    fake.threads_by_page[0][2].pages[0].append(
        ForumPost(3003, "Lâm Văn Khoa", now_local, "Trường gần nhà đỡ vất vả đưa đón.")
    )
    fake.install(server)
    server.requests.clear()
    # when
    run = crawl(session, source.id, settings=settings)
    # then only that thread was fetched again; the listing stopped at a page with nothing new
    assert run.status == "ok" and run.items_new == 1
    assert _paths(server) == [
        "/forums/giao-duc.5/",
        "/forums/giao-duc.5/page-2",
        "/threads/kinh-nghiem-chon-truong-thcs.1003/",
    ]


def test_unreachable_listing_fails_the_poll(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given
    url = server.route("/forums/dong-cua.9/", Reply(status=503, body=b"bao tri"))
    source = _source(session, url)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert run.status == "failed" and source.health == "failing"
    assert "HTTP 503" in (source.last_error or "")


def test_a_missing_thread_is_noted_and_the_rest_kept(
    session: Session, settings: Settings, server: LocalServer, forum: tuple[FakeForum, str]
) -> None:
    # given one thread was deleted after the listing was cached
    _, url = forum
    server.route("/threads/kinh-nghiem-chon-truong-thcs.1003/", Reply(status=404, body=b""))
    source = _source(session, url)
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    assert run.status == "ok" and "HTTP 404" in (run.error or "")
    assert len(documents(session, "post")) == POSTS - 1
