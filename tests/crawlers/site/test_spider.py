"""Discovery: sitemap index, urlset and Google News sitemaps (with a since-date), paginated
listings with a page limit, robots.txt; plus the units the spider is built from."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from scrapy import Request

from core.models import utcnow
from core.net import parse_networks
from core.settings import Settings
from crawlers.connectors.site import SiteConnector, build_output
from crawlers.http import FetchError
from crawlers.spiders.config import CrawlJob, site_of
from crawlers.spiders.middlewares import BlockedRequest, PublicUrlGuard
from crawlers.spiders.sitemaps import parse_sitemap, sitemaps_in_robots
from fixtureweb import PressWeb
from tests.crawlers.site.conftest import site_source

NOW = datetime(2023, 11, 21, 3, 0, tzinfo=UTC)


def _urls(web: PressWeb, paper: str, keep: object = None) -> set[str]:
    return {
        url
        for url, e in web.expected().items()
        if e.paper == paper and (keep is None or keep(e))  # type: ignore[operator]
    }


# -- crawls (one child process each)


def test_sitemaps_named_by_robots_txt_find_every_article(
    press_web: PressWeb, site_settings: Settings
) -> None:
    # given baoA configured with neither sitemaps nor listings: its robots.txt names a
    # sitemap index (recent, archive, news); one mapped page is robots-disallowed
    press_web.clear_requests()
    source = site_source(press_web, "baoA", sitemaps=[], listings=[])
    # when
    output = SiteConnector().fetch(source, site_settings)
    # then every allowed article (recent and archive sitemaps) and nothing else
    assert {i.url for i in output.items} == _urls(press_web, "baoA")
    assert output.errors == []
    requested = press_web.requests("baoA")
    assert "/robots.txt" in requested
    assert {"/sitemap.xml", "/sitemaps/recent.xml", "/sitemaps/archive.xml"} <= set(requested)
    assert not any(path.startswith("/noi-bo/") for path in requested)


def test_google_news_sitemap_with_since_days(press_web: PressWeb, site_settings: Settings) -> None:
    # given baoB's Google News sitemap (48 hours) and since_days=1
    source = site_source(
        press_web, "baoB", sitemaps=[press_web.news_sitemap_url("baoB")], listings=[], since_days=1
    )
    since = utcnow() - timedelta(days=1)
    # when
    output = SiteConnector().fetch(source, site_settings)
    # then only articles of the last day, each with its publish time
    assert {i.url for i in output.items} == _urls(
        press_web, "baoB", lambda e: e.published_at >= since
    )
    assert 0 < len(output.items) < len(_urls(press_web, "baoB"))
    assert all(i.published_at and i.published_at >= since for i in output.items)


def test_paginated_listing_stops_at_max_pages(press_web: PressWeb, site_settings: Settings) -> None:
    # given baoA's listing (4 links a page) crawled with max_pages=2 and no sitemap
    press_web.clear_requests()
    source = site_source(press_web, "baoA", sitemaps=[], max_pages=2)
    first_eight = [a for a in press_web.articles("baoA")][:8]
    # when
    connector = SiteConnector()
    output = connector.fetch(source, site_settings)
    # then the allowed articles of pages 1-2 only; page 3 and the disallowed one not fetched
    assert {i.url for i in output.items} == {
        press_web.article_url(a) for a in first_eight if a.robots_allowed
    }
    requested = press_web.requests("baoA")
    assert "/giao-duc-p2" in requested and "/giao-duc-p3" not in requested
    assert not any(path.startswith("/noi-bo/") for path in requested)
    assert connector.last_stats["robots_forbidden"] == 1
    assert all(i.meta["via"] == "listing" for i in output.items)


# -- units


def test_parse_sitemap_kinds(press_web: PressWeb) -> None:
    # given the index, a urlset and a Google News sitemap as served
    index = httpx.get(press_web.sitemap_url("baoA")).content
    urlset = httpx.get(press_web.sitemap_url("baoC")).content
    news = httpx.get(press_web.news_sitemap_url("baoA")).content
    now = utcnow()
    # when
    parsed = [parse_sitemap(body, now=now) for body in (index, urlset, news)]
    # then
    assert [p.kind for p in parsed] == ["index", "urlset", "urlset"]
    assert len(parsed[0].entries) == 3
    assert any(e.when is None for e in parsed[1].entries)
    truth = press_web.expected(include_disallowed=True)
    for entry in parsed[2].entries:
        assert entry.when == truth[entry.loc].published_at


def test_parse_sitemap_gzip_broken_and_hostile_xml() -> None:
    # given a gzipped urlset, non-XML, HTML, and an entity-expansion attempt
    urlset = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://a.vn/1.html</loc><lastmod>2023-11-20</lastmod></url>"
        b"<url><lastmod>2023-11-20</lastmod></url></urlset>"
    )
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc>'
        b"</url></urlset>"
    )
    # when
    zipped = parse_sitemap(gzip.compress(urlset), now=NOW)
    junk = [parse_sitemap(b, now=NOW) for b in (b"\x1f\x8bnot gzip", b"", b"<html></html>")]
    evil = parse_sitemap(hostile, now=NOW)
    # then
    assert [(e.loc, e.when) for e in zipped.entries] == [
        ("https://a.vn/1.html", datetime(2023, 11, 19, 17, 0, tzinfo=UTC))
    ]
    assert [j.kind for j in junk] == ["invalid"] * 3
    assert all("root:" not in e.loc for e in evil.entries)


def test_sitemaps_named_in_robots_txt() -> None:
    # given
    robots = "User-agent: *\nDisallow: /noi-bo/\nSitemap: /sitemap.xml\nsitemap: https://a.vn/n.xml"
    # when
    found = sitemaps_in_robots(robots, "https://a.vn/robots.txt")
    # then
    assert found == ["https://a.vn/sitemap.xml", "https://a.vn/n.xml"]


def test_crawl_job_from_source_config() -> None:
    # given the settings and a few configs
    settings = Settings(
        _env_file=None,
        http={"max_bytes": 1234, "allowed_private_networks": "127.0.0.1 10.0.0.0/8"},
    )
    # when
    job = CrawlJob.from_source(
        "https://a.vn/", {"listings": ["https://a.vn/gd"], "article_selector": "h3 a",
                          "since_days": 2, "concurrency": 8}, settings, NOW
    )  # fmt: skip
    bare = CrawlJob.from_source("https://www.a.vn/giao-duc", {}, settings, NOW)
    xml = CrawlJob.from_source("https://a.vn/sitemap.xml", {"since_days": 0}, settings, NOW)
    # then
    assert job.since_dt() == NOW - timedelta(days=2) and job.concurrency == 8
    assert (job.max_bytes, job.allowed_private_networks, job.user_agent) == (
        1234,
        ["127.0.0.1/32", "10.0.0.0/8"],
        settings.http.user_agent,
    )
    assert "diemtin" in job.user_agent
    assert bare.sitemaps == ["https://www.a.vn/robots.txt"] and xml.sitemaps == [xml.source_url]
    assert bare.since_dt() == NOW - timedelta(days=2) and xml.since_dt() is None
    assert CrawlJob.from_json(job.to_json()) == job
    assert site_of("https://www.a.vn/x") == site_of("http://m.a.vn/y") == "a.vn"
    for bad in ({"listings": ["https://a.vn/"]}, {"colour": "red"}, {"concurrency": "many"},
                {"max_pages": 0}, {"sitemaps": [3]}):  # fmt: skip
        with pytest.raises(ValueError):
            CrawlJob.from_source("https://a.vn/", bad, settings, NOW)


@pytest.mark.parametrize(
    ("url", "allowed", "blocked"),
    [
        ("http://127.0.0.1:8000/robots.txt", "", True),
        ("http://10.11.12.13/bai.html", "127.0.0.1/32", True),
        ("http://169.254.169.254/latest/meta-data/", "0.0.0.0/0", True),
        ("http://[::ffff:127.0.0.1]/", "", True),
        ("file:///etc/passwd", "127.0.0.1/32", True),
        ("http://127.0.0.1:8000/bai.html", "127.0.0.1/32", False),
        ("http://93.184.216.34/bai.html", "", False),
    ],
)
def test_public_url_guard(url: str, allowed: str, blocked: bool) -> None:
    # given the downloader middleware, as configured by settings
    guard = PublicUrlGuard(parse_networks(allowed))
    # when / then
    if blocked:
        with pytest.raises(BlockedRequest, match="blocked"):
            guard.process_request(Request(url))
    else:
        assert guard.process_request(Request(url)) is None


def _job() -> CrawlJob:
    return CrawlJob(source_url="https://a.vn/", sitemaps=["https://a.vn/sitemap.xml"])


def _item(url: str, **fields: str) -> dict[str, str]:
    return {"type": "item", "url": url, "title": "Tiêu đề", "body": "Nội dung bài.", **fields}


def test_build_output_dedupes_by_canonical_url_then_by_text() -> None:
    # given the same page under a tracker variant, and under a '?ref=' URL and a plain one
    records = [
        _item("https://a.vn/bai-1.html?utm_source=fb"),
        _item("https://a.vn/bai-1.html"),
        _item("https://a.vn/bai-2.html?ref=home", title="Bài hai"),
        _item("https://a.vn/bai-2.html", title="Bài hai"),
        {"type": "stats", "start_urls": 1, "start_failures": 0},
    ]
    # when
    output, stats = build_output(records, "", 0, _job())
    # then one item each; the copy without a canonical link keeps its plainest URL
    assert sorted(i.url or "" for i in output.items) == [
        "https://a.vn/bai-1.html?utm_source=fb",
        "https://a.vn/bai-2.html",
    ]
    assert stats["start_urls"] == 1 and output.errors == []


@pytest.mark.parametrize(
    ("message", "transient", "retryable"),
    [("HTTP 404", 0, False), ("DownloadConnectionRefusedError: refused", 1, True)],
)
def test_build_output_fails_the_crawl_when_no_starting_point_worked(
    message: str, transient: int, retryable: bool
) -> None:
    # given a crawl whose only sitemap failed
    records = [
        {"type": "error", "url": "https://a.vn/sitemap.xml", "message": message},
        {"type": "stats", "start_urls": 1, "start_failures": 1,
         "start_failures_transient": transient},
    ]  # fmt: skip
    # when / then
    with pytest.raises(FetchError, match="sitemaps or listing pages could be used") as info:
        build_output(records, "", 0, _job())
    assert message in info.value.message and info.value.retryable is retryable


def test_build_output_after_a_timeout_or_a_crash() -> None:
    # given a child killed at its time limit after one item, one with none, one that crashed
    # when
    output, _ = build_output([_item("https://a.vn/bai-1.html")], "", None, _job())
    # then
    assert len(output.items) == 1 and "crawl stopped after" in output.errors[0]
    with pytest.raises(FetchError, match="timed out"):
        build_output([], "still crawling", None, _job())
    with pytest.raises(FetchError, match=r"(?s)exit 1\): .*ImportError: no scrapy"):
        build_output([], "Traceback ...\nImportError: no scrapy", 1, _job())
