"""Feeds that carry only a summary: the article page is fetched once, for new items only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document, Source
from core.settings import Settings
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer, Reply

PARAGRAPHS = [
    "Sáng nay, Sở Giáo dục và Đào tạo tỉnh tổ chức hội nghị tổng kết công tác chuyển đổi số "
    "trong các trường trung học, với sự tham dự của hơn hai trăm cán bộ quản lý.",
    "Theo báo cáo, toàn tỉnh đã cấp học bạ số cho học sinh lớp 6 và lớp 10; các trường vùng "
    "khó khăn được hỗ trợ đường truyền và máy tính để kịp triển khai.",
    "Giám đốc Sở đề nghị các phòng giáo dục rà soát hạ tầng trước học kỳ hai và báo cáo "
    "những khó khăn để kịp thời tháo gỡ.",
]


def _page(title: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        '<html><head><meta charset="utf-8"><title>' + title + "</title>"
        '<meta property="article:published_time" content="2026-11-20T08:15:00+07:00">'
        '<meta name="author" content="Minh Anh"></head><body>'
        '<nav><a href="/">Trang chủ</a> <a href="/giao-duc">Giáo dục</a></nav>'
        f"<article><h1>{title}</h1>{body}</article>"
        "<footer>Bản quyền thuộc về Báo Thử. Địa chỉ: số 1 đường Hòa Bình.</footer>"
        "</body></html>"
    ).encode()


def _feed(server: LocalServer, n: int) -> bytes:
    items = "".join(
        f"<item><title>Tin số {i}</title><link>{server.url(f'/bai/{i}.html')}</link>"
        f"<guid>bai-{i}</guid><description>Tóm tắt ngắn của tin số {i}.</description></item>"
        for i in range(1, n + 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Báo Thử</title>'
        f"{items}</channel></rss>"
    ).encode()


def _source(session: Session, server: LocalServer) -> Source:
    source = Source(name="Báo Thử", kind="rss", url=server.url("/rss.xml"))
    session.add(source)
    session.commit()
    return source


def _page_hits(server: LocalServer) -> int:
    return sum(1 for r in server.requests if r["path"].startswith("/bai/"))


def test_summary_only_items_get_the_article_text(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given a feed of two summaries; one article page answers, the other is gone
    server.route("/rss.xml", Reply(body=_feed(server, 2)))
    server.route(
        "/bai/1.html", Reply(body=_page("Tin số 1"), headers={"Content-Type": "text/html"})
    )
    server.route("/bai/2.html", Reply(404, b"not found"))
    source = _source(session, server)
    # when
    run = crawl(session, source.id, settings=settings)
    # then the first has the page's body without navigation or footer, the second keeps
    # its summary, and nothing is lost
    assert run.status == "ok" and run.items_new == 2
    docs = {d.title: d for d in session.scalars(select(Document))}
    first = docs["Tin số 1"]
    assert "học bạ số" in first.body and "Bản quyền" not in first.body
    assert "Trang chủ" not in first.body
    assert first.meta.get("body_from") == "page"
    assert first.author == "Minh Anh"
    assert docs["Tin số 2"].lead == "Tóm tắt ngắn của tin số 2."
    assert _page_hits(server) == 2


def test_known_items_are_not_fetched_again(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given a first crawl, then the feed gains one item (and no conditional-GET headers)
    page = Reply(body=_page("Tin"), headers={"Content-Type": "text/html"})
    for i in (1, 2):
        server.route(f"/bai/{i}.html", page)
    server.route("/rss.xml", Reply(body=_feed(server, 1)))
    source = _source(session, server)
    crawl(session, source.id, settings=settings)
    server.route("/rss.xml", Reply(body=_feed(server, 2)))
    # when
    crawl(session, source.id, settings=settings)
    # then only the new item's page was fetched the second time
    assert _page_hits(server) == 2
    assert len(session.scalars(select(Document)).all()) == 2
