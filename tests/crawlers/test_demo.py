"""The demo press site: pages, feed, conditional GET, escaping, and the shared-data loader."""

from __future__ import annotations

import csv
from datetime import timedelta
from email.utils import parsedate_to_datetime
from html import escape
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree

from core.models import utcnow
from core.settings import Settings
from fixtureweb.demo import DemoSite
from fixtureweb.demo_articles import (
    VNTC_SAMPLE,
    DemoArticle,
    load_builtin_articles,
    load_vntc_articles,
)

CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}encoded"


def test_builtin_articles_are_ours_and_spread_over_two_days() -> None:
    # given
    now = utcnow()
    # when
    articles = load_builtin_articles(now)
    # then
    assert len(articles) >= 15
    assert all(3 <= len(a.paragraphs) <= 6 for a in articles)
    assert all(now - timedelta(hours=48) <= a.published_at < now for a in articles)
    text = " ".join(" ".join([a.title, a.lead, *a.paragraphs]) for a in articles)
    assert text.count("giáo dục") >= 3 and "Đà Nẵng" in text
    assert len({a.slug for a in articles}) == len(articles)


def test_feed_is_rss_2_newest_first_with_full_bodies(demo_site: DemoSite) -> None:
    # when
    response = httpx.get(demo_site.feed_url)
    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/rss+xml")
    channel = etree.fromstring(response.content).find("channel")
    assert channel is not None
    items = channel.findall("item")
    assert len(items) == len(demo_site.articles)
    dates = [parsedate_to_datetime(i.findtext("pubDate") or "") for i in items]
    assert dates == sorted(dates, reverse=True)
    first, article = items[0], demo_site.articles[0]
    assert first.findtext("title") == article.title
    assert first.findtext("link") == first.findtext("guid") == demo_site.article_url(article)
    assert first.findtext("description") == article.lead
    assert first.findtext(CONTENT_NS) == "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)


def test_feed_honours_etag_and_if_modified_since(demo_site: DemoSite) -> None:
    # given
    first = httpx.get(demo_site.feed_url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    # when
    by_etag = httpx.get(demo_site.feed_url, headers={"If-None-Match": etag})
    by_date = httpx.get(demo_site.feed_url, headers={"If-Modified-Since": last_modified})
    stale = httpx.get(demo_site.feed_url, headers={"If-None-Match": '"other"'})
    # then
    assert (by_etag.status_code, by_date.status_code, stale.status_code) == (304, 304, 200)
    assert by_etag.content == b""


def test_pages_escape_untrusted_text(settings: Settings) -> None:
    # given: text as a scraper might have brought it in
    evil = DemoArticle(
        slug="xss",
        title='<script>alert("x")</script> & "trích dẫn"',
        lead="<img src=x onerror=alert(1)>",
        paragraphs=["<b>đậm</b>", "a < b"],
        published_at=utcnow(),
        author="<i>ai</i>",
    )
    with DemoSite(articles=[evil], settings=settings) as site:
        # when
        page = httpx.get(f"{site.base_url}/bai/xss.html").text
        home = httpx.get(site.base_url + "/").text
        feed = feedparser.parse(httpx.get(site.feed_url).content)
    # then
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;trích dẫn&quot;" in page
    assert "<script>" not in home
    assert "<article>" in page and "<h1>" in page and "<time datetime=" in page
    assert feed.entries[0].title == evil.title


def test_unknown_paths_are_404(demo_site: DemoSite) -> None:
    # when
    missing = httpx.get(f"{demo_site.base_url}/bai/khong-co.html")
    other = httpx.get(f"{demo_site.base_url}/wp-admin")
    # then
    assert missing.status_code == other.status_code == 404
    assert "Không tìm thấy trang" in missing.text


def test_home_lists_every_article(demo_site: DemoSite) -> None:
    # when
    home = httpx.get(demo_site.base_url + "/").text
    # then
    for article in demo_site.articles:
        assert f"/bai/{article.slug}.html" in home


def test_vntc_articles_are_read_at_run_time(settings: Settings) -> None:
    # given
    path = settings.shared_data_dir / VNTC_SAMPLE
    if not path.is_file():
        pytest.skip(f"shared VNTC sample not found at {path}")
    now = utcnow()
    # when
    articles = load_vntc_articles(path, limit=25, now=now)
    # then
    assert len(articles) == 25
    assert all(a.title and a.lead and a.paragraphs for a in articles)
    assert all(now - timedelta(hours=48) < a.published_at < now for a in articles)


def test_missing_shared_data_gives_no_extra_articles(tmp_path: Path) -> None:
    # when / then
    assert load_vntc_articles(tmp_path / "nope.csv", limit=10, now=utcnow()) == []


def test_vntc_titles_are_headlines_never_paragraphs(tmp_path: Path) -> None:
    # given a sample laid out as VNTC is (our own text): a headline line, a headline run into
    # its lead after the agency tag, and articles with no headline line at all
    path = tmp_path / "sample.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerow(
            ["Trường làng có thư viện mới\nSáng nay thư viện khai trương.\nĐoạn hai.", "A"]
        )
        writer.writerow(
            ["Thầy giáo vượt lũ đến lớp (NLĐ)- Ngày 3-10, thầy Minh lội suối.\nĐoạn.", "B"]
        )
        long_first = "Sáng 5-9, học sinh toàn tỉnh dự lễ khai giảng năm học mới. " * 3
        writer.writerow([long_first + "\nĐoạn hai.", "C"])
        writer.writerow(["Trăng lên, gió thổi, mây bay, sông chảy, lúa xanh\nĐoạn hai.", "D"])
    # when
    articles = load_vntc_articles(path, limit=10, now=utcnow())
    # then only headlines become titles; the run-on lead is split off
    assert sorted(a.title for a in articles) == [
        "Thầy giáo vượt lũ đến lớp",
        "Trường làng có thư viện mới",
    ]
    run_on = next(a for a in articles if a.section == "B")
    assert run_on.lead == "Ngày 3-10, thầy Minh lội suối."
