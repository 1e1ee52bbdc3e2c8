"""The fixture web's one RSS builder and one sitemap builder write what the product's own
parsers read back: every page, date and text, with markup in the text escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from crawlers.connectors.rss import parse_feed
from crawlers.spiders.sitemaps import parse_sitemap
from fixtureweb.rss import FeedItem, rss_feed
from fixtureweb.serve import Site
from fixtureweb.sitemaps import NewsEntry, news_urlset, sitemap_index, urlset

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
WHEN = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)


def test_feed_items_read_back_with_full_text_and_guid_forms() -> None:
    # given: a permalink guid, a guid of its own, none; a date as an outlet writes it
    items = [
        FeedItem(
            title="Học phí <tăng> & giảm",
            link="https://bao.example.vn/a.html",
            published_at=WHEN,
            lead="Sapo & tóm tắt",
            paragraphs=["Đoạn <một>.", "Đoạn hai."],
            author="Minh Châu",
        ),
        FeedItem(
            title="Tin hai",
            link="https://bao.example.vn/b.html",
            published_at="Sun, 06 Dec 2026 08:30:00 +0700",
            lead="Tóm tắt hai",
            guid="b-2",
        ),
        FeedItem(
            title="Tin ba",
            link="https://bao.example.vn/c.html",
            published_at=WHEN,
            lead="Tóm tắt ba",
            guid=False,
        ),
    ]
    # when
    feed = rss_feed(title="Báo & thử", link="https://bao.example.vn/", description="", items=items)
    parsed = parse_feed(feed, url="https://bao.example.vn/rss", now=NOW).items
    # then
    assert [i.title for i in parsed] == ["Học phí <tăng> & giảm", "Tin hai", "Tin ba"]
    assert [i.published_at for i in parsed] == [WHEN, WHEN, WHEN]
    assert parsed[0].body == "Đoạn <một>.\n\nĐoạn hai." and parsed[0].author == "Minh Châu"
    # feedparser reads a guid of its own as an address relative to the feed's
    ids = ["https://bao.example.vn/a.html", "https://bao.example.vn/b-2", None]
    assert [i.native_id for i in parsed] == ids
    assert parsed[1].body == "" and parsed[2].lead == "Tóm tắt ba"


def test_sitemaps_read_back_with_their_dates() -> None:
    # given
    pages = [("https://bao.example.vn/a.html?x=1&y=2", WHEN), ("https://bao.example.vn/b", None)]
    # when
    plain = parse_sitemap(urlset(pages), now=NOW)
    index = parse_sitemap(sitemap_index([("https://bao.example.vn/s1.xml", WHEN)]), now=NOW)
    news = parse_sitemap(
        news_urlset([NewsEntry("https://bao.example.vn/n.html", "Báo", WHEN, "Tin <mới>")]),
        now=NOW,
    )
    # then
    assert plain.kind == "urlset"
    assert [(e.loc, e.when) for e in plain.entries] == pages
    assert index.kind == "index" and [(e.loc, e.when) for e in index.entries] == [
        ("https://bao.example.vn/s1.xml", WHEN)
    ]
    assert [(e.loc, e.when) for e in news.entries] == [("https://bao.example.vn/n.html", WHEN)]


def test_one_server_answers_get_and_head_and_frees_its_port() -> None:
    # given
    seen: list[tuple[str, str | None]] = []

    def handle(path: str, headers: object) -> tuple[int, str, bytes, dict[str, str]]:
        seen.append((path, headers.get("X-Thu")))  # type: ignore[attr-defined]
        return 200, "text/plain; charset=utf-8", "xin chào".encode(), {"ETag": '"v1"'}

    site = Site(handle).start()
    try:
        # when
        got = httpx.get(f"{site.base_url}/a?b=1", headers={"x-thu": "1"})
        head = httpx.head(f"{site.base_url}/c")
    finally:
        site.stop()
    # then: header names are case-insensitive, HEAD has the length but no body
    assert got.text == "xin chào" and got.headers["ETag"] == '"v1"'
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len("xin chào".encode()))
    assert seen == [("/a?b=1", "1"), ("/c", None)]
    assert not site.running
