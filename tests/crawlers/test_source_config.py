"""A source's config written through add_source / edit_source (as the CLI and the admin API
do), checked with Vietnamese messages, instead of only by hand in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.models import Source
from core.settings import Settings
from crawlers.source_config import MASK, public_config, validate_config
from crawlers.sources import add_source, edit_source
from crawlers.spiders.config import CrawlJob

SITE = "http://127.0.0.1:9/"


def test_add_source_stores_a_site_config_that_could_only_be_written_by_hand(
    session: Session, settings: Settings
) -> None:
    # when
    source = add_source(
        session,
        name="Báo Site",
        url=SITE,
        kind="site",
        config={
            "sitemaps": "http://127.0.0.1:9/sitemap.xml",
            "listings": ["http://127.0.0.1:9/giao-duc"],
            "article_selector": "h3.title a::attr(href)",
            "since_days": 3,
            "concurrency": 2,
        },
        settings=settings,
    )
    # then: stored as given (one sitemap becomes a list), nothing more
    session.expire_all()
    assert session.get(Source, source.id).config == {  # type: ignore[union-attr]
        "sitemaps": ["http://127.0.0.1:9/sitemap.xml"],
        "listings": ["http://127.0.0.1:9/giao-duc"],
        "article_selector": "h3.title a::attr(href)",
        "since_days": 3,
        "concurrency": 2,
    }


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("site", {"since_days": "hai"}, "since_days phải là số ngày từ 0 đến 3650"),
        ("site", {"since_days": -1}, "since_days phải là số ngày từ 0 đến 3650"),
        ("site", {"concurrency": 0}, "concurrency phải là số nguyên từ 1 đến 64"),
        ("site", {"concurrency": True}, "concurrency phải là số nguyên từ 1 đến 64"),
        ("site", {"concurency": 2}, "không có khóa «concurency»"),
        ("site", {"sitemaps": ["ftp://a.vn/s.xml"]}, "không phải địa chỉ http:// hoặc https://"),
        ("site", {"listings": [SITE]}, "thì cần article_selector"),
        ("site", {"article_selector": "h3 >> a["}, "article_selector: bộ chọn CSS không hợp lệ"),
        ("rss", {"fetch_pages": "có"}, "fetch_pages phải là true hoặc false"),
        ("facebook", {"page_id": "123"}, "cần «access_token»"),
        ("youtube", {"channel_id": "UC1", "api_key": " "}, "api_key phải là một chuỗi không rỗng"),
        ("forum", {"timezone": "Sao Hỏa/Cực"}, "không có múi giờ"),
        ("site", ["http://a.vn/s.xml"], "phải là một đối tượng JSON"),
    ],
)
def test_bad_config_is_refused_with_a_vietnamese_message_naming_the_key(
    session: Session, settings: Settings, kind: str, config: Any, message: str
) -> None:
    # when / then: refused before anything is written
    with pytest.raises(ValueError, match=message):
        add_source(session, name="Báo lỗi", url=SITE, kind=kind, config=config, settings=settings)
    session.rollback()
    assert session.query(Source).count() == 0


def test_config_urls_get_the_same_address_check_as_the_source_url(
    session: Session, settings: Settings
) -> None:
    # when: a sitemap on the cloud metadata address
    with pytest.raises(ValueError, match="sitemaps: http://169.254.169.254/.*mạng nội bộ"):
        add_source(
            session,
            name="Báo SSRF",
            url=SITE,
            kind="site",
            config={"sitemaps": ["http://169.254.169.254/latest/meta-data/"]},
            settings=settings,
        )


def test_edit_merges_config_removes_null_keys_and_keeps_masked_secrets(
    session: Session, settings: Settings
) -> None:
    # given
    fb = add_source(
        session,
        name="Trang Facebook",
        url="https://www.facebook.com/sogddt",
        kind="facebook",
        scope="social",
        config={"page_id": "123", "access_token": "EAAB-bi-mat", "max_pages": 5},
        settings=settings,
    )
    shown = public_config(fb.config)
    assert shown["access_token"] == MASK and shown["page_id"] == "123"
    # when: the form sends back what it showed, with one change and one removal
    edit_source(
        session, fb, settings=settings, config={**shown, "page_size": 50, "max_pages": None}
    )
    session.commit()
    # then
    session.expire_all()
    assert session.get(Source, fb.id).config == {  # type: ignore[union-attr]
        "page_id": "123",
        "access_token": "EAAB-bi-mat",
        "page_size": 50,
    }


def test_a_bad_edit_changes_nothing(session: Session, settings: Settings) -> None:
    # given
    source = add_source(
        session, name="Báo Site", url=SITE, kind="site", config={"since_days": 2}, settings=settings
    )
    # when: a good name with a bad config
    with pytest.raises(ValueError, match="concurrency"):
        edit_source(session, source, settings=settings, name="Tên mới", config={"concurrency": 99})
    session.rollback()
    # then
    session.expire_all()
    again = session.get(Source, source.id)
    assert again is not None and (again.name, again.config) == ("Báo Site", {"since_days": 2})


def test_editing_the_config_of_a_flagged_source_polls_it_again(
    session: Session, settings: Settings
) -> None:
    # given: a site source flagged after failing with a wrong sitemap
    source = add_source(session, name="Báo Site", url=SITE, kind="site", settings=settings)
    source.health, source.consecutive_failures = "flagged", 5
    session.commit()
    # when
    edit_source(
        session, source, settings=settings, config={"sitemaps": ["http://127.0.0.1:9/s.xml"]}
    )
    session.commit()
    # then: the scheduler takes it at the next tick
    assert (source.health, source.consecutive_failures, source.next_poll_at) == ("unknown", 0, None)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"sitemaps": "http://127.0.0.1:9/s.xml", "since_days": 0},
        {"listings": [SITE], "article_selector": "a", "next_selector": "a.next", "max_pages": 1000},
        {"concurrency": 64, "max_articles": 100_000, "timeout_s": 5, "start_delay_s": 60},
        {"target_concurrency": 0.1, "since_days": 3650},
    ],
)
def test_every_site_config_that_passes_is_one_the_crawler_accepts(
    settings: Settings, config: dict[str, Any]
) -> None:
    # The checks here and in crawlers.spiders.config must not drift apart.
    stored = validate_config("site", config, settings=settings)
    job = CrawlJob.from_source(SITE, stored, settings, datetime(2026, 12, 1, tzinfo=UTC))
    assert job.start_urls


def test_saving_a_form_with_nothing_changed_keeps_the_poll_rhythm(
    session: Session, settings: Settings
) -> None:
    # given: a polled source with validators and a next poll
    source = add_source(
        session, name="Báo RSS", url=SITE, config={"fetch_pages": True}, settings=settings
    )
    source.etag, source.next_poll_at = '"v1"', datetime(2030, 1, 1, tzinfo=UTC)
    session.commit()
    # when: the admin form sends every field back as it was
    edit_source(
        session,
        source,
        settings=settings,
        name="Báo RSS",
        url=SITE,
        scope=source.scope,
        poll_interval_s=source.poll_interval_s,
        enabled=True,
        config={"fetch_pages": True},
    )
    session.commit()
    # then: no conditional GET lost, no extra poll
    assert (source.etag, source.next_poll_at) == ('"v1"', datetime(2030, 1, 1, tzinfo=UTC))
