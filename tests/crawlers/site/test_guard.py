"""A site source that must not or cannot be crawled fails as a whole, with a clear message
on the source, and no child process is started for a refused address; a page that grows
past the size limit while streaming is one recorded error."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Document, Source
from core.settings import Settings
from crawlers.service import crawl
from fixtureweb import PressWeb
from tests.crawlers.conftest import LocalServer, Reply
from tests.crawlers.site.conftest import site_source


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_loopback_site_is_refused_when_private_urls_are_not_allowed(
    session: Session, settings: Settings, press_web: PressWeb
) -> None:
    # given the production rule: sources must resolve to public addresses
    strict = settings.copy_with(http={"allowed_private_networks": ""})
    source = site_source(press_web, "baoA")
    session.add(source)
    session.commit()
    press_web.clear_requests()
    # when
    run = crawl(session, source.id, settings=strict)
    # then the crawl failed before any request, saying why
    session.refresh(source)
    assert run.status == "failed"
    assert source.health == "failing" and source.last_error is not None
    assert "refusing '127.0.0.1'" in source.last_error
    assert "non-public address" in source.last_error
    assert press_web.requests("baoA") == []
    assert session.scalar(select(func.count()).select_from(Document)) == 0


def test_unreachable_site_fails_the_source(session: Session, settings: Settings) -> None:
    # given a site whose sitemap cannot be fetched at all
    url = f"http://127.0.0.1:{_dead_port()}"
    source = Source(
        name="Báo không truy cập được",
        kind="site",
        url=url + "/",
        config={"sitemaps": [url + "/sitemap.xml"], "start_delay_s": 0, "timeout_s": 30},
    )
    session.add(source)
    session.commit()
    # when
    run = crawl(session, source.id, settings=settings)
    # then
    session.refresh(source)
    assert run.status == "failed"
    assert source.last_error is not None
    assert "none of the site's sitemaps or listing pages could be used" in source.last_error
    assert "Connection refused" in source.last_error
    assert "/sitemap.xml" in source.last_error


def test_oversized_stream_is_an_error_and_off_site_redirect_is_dropped(
    session: Session, settings: Settings, server: LocalServer, press_web: PressWeb
) -> None:
    # given a sitemap of three pages: one streamed without Content-Length past the size
    # limit, one redirecting to another site's article, one fine
    small = settings.copy_with(http={"max_bytes": 100_000})
    html = {"Content-Type": "text/html; charset=utf-8"}
    article = (
        "<html><head><title>Tin ngắn - Báo Mẫu</title></head><body><article><h1>Tin ngắn</h1>"
        "<p>Sở Giáo dục và Đào tạo tổ chức hội nghị tổng kết năm học tại thành phố.</p>"
        "</article></body></html>"
    ).encode()
    server.route("/robots.txt", Reply(404))
    sitemap = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{server.url('/lon.html')}</loc></url>"
        f"<url><loc>{server.url('/ngan.html')}</loc></url>"
        f"<url><loc>{server.url('/chuyen.html')}</loc></url></urlset>"
    )
    elsewhere = next(iter(press_web.expected()))
    server.route("/chuyen.html", Reply(302, headers={"Location": elsewhere}))
    server.route("/sitemap.xml", Reply(body=sitemap.encode()))
    server.route("/ngan.html", Reply(body=article, headers=html))
    server.route(
        "/lon.html", Reply(body=b"<p>" + b"x" * 300_000, headers=html, content_length=False)
    )
    source = Source(
        name="Báo Mẫu",
        kind="site",
        url=server.url("/"),
        config={"sitemaps": [server.url("/sitemap.xml")], "start_delay_s": 0},
    )
    session.add(source)
    session.commit()
    # when
    run = crawl(session, source.id, settings=small)
    # then
    assert run.status == "ok" and run.items_new == 1
    # (the redirect was followed, the other site's page fetched, then left out)
    assert urlsplit(elsewhere).path in press_web.requests("baoA")
    assert session.scalar(select(func.count()).where(Document.url == elsewhere)) == 0
    assert (
        run.error
        == f"{server.url('/lon.html')}: page too large, download cancelled (over 100000 bytes)"
    )
