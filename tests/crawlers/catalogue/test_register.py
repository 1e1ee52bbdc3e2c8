"""Registering a province's sources from the catalogue into a real database: nothing in the
catalogue is dropped, homepage-only outlets are discovered, re-registering adds nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Source, utcnow
from core.settings import Settings
from crawlers.catalogue import find_province, load_catalogue, parse_catalogue
from crawlers.catalogue.discover import HEADLINE_LINKS, HTML_LINKS
from crawlers.catalogue.register import register_province_sources, registered_sources
from fixtureweb.outlet import ProvincialOutlet

QUANG_NGAI = "51"


@pytest.fixture
def outlets() -> Iterator[dict[str, ProvincialOutlet]]:
    sites = {m: ProvincialOutlet(m, now=utcnow()).start() for m in ("rss", "robots", "none")}
    try:
        yield sites
    finally:
        for site in sites.values():
            site.stop()


def test_the_shipped_catalogue_registers_a_province_without_network(
    session: Session, settings: Settings
) -> None:
    # given a fresh install for Quảng Ngãi, registering on a machine with no network
    report = register_province_sources(session, QUANG_NGAI, settings=settings, look=False)
    # then every catalogue entry of the province and of the national press is a source
    expected = load_catalogue().for_province(QUANG_NGAI)
    sources = {s.name: s for s in session.scalars(select(Source))}
    assert set(sources) == {e.name for e in expected}
    assert report.created == len(expected)
    paper = sources["Báo và Phát thanh, Truyền hình Quảng Ngãi"]
    assert (paper.scope, paper.province, paper.kind) == ("local", QUANG_NGAI, "site")
    # a homepage-only outlet reads its homepage until someone tunes it
    assert paper.config == {"listings": [paper.url], "article_selector": HEADLINE_LINKS}
    gd = sources["Giáo dục và Thời đại"]
    assert (gd.scope, gd.province, gd.kind) == ("national", None, "rss")
    # no other province's press
    assert "Báo và Phát thanh, Truyền hình Gia Lai" not in sources
    # when registered again, nothing is added and an admin's edit is kept
    paper.enabled = False
    session.commit()
    again = register_province_sources(session, QUANG_NGAI, settings=settings, look=False)
    assert again.created == 0 and {r.status for r in again.sources} == {"existing"}
    assert session.scalar(select(Source.enabled).where(Source.id == paper.id)) is False
    listed = registered_sources(session, QUANG_NGAI)
    assert listed[0].scope == "local" and {s.name for s in listed} == set(sources)


def test_homepage_only_outlets_are_discovered_never_dropped(
    session: Session, settings: Settings, outlets: dict[str, ProvincialOutlet]
) -> None:
    # given a catalogue whose Huế outlets are known by their homepage only
    hue = find_province("Huế")
    assert hue is not None
    text = "provinces:\n  Huế:\n    sources:\n" + "".join(
        f"      - {{name: 'Báo {mode}', homepage: '{site.homepage}'}}\n"
        for mode, site in outlets.items()
    )
    catalogue = parse_catalogue(text)
    # when they are registered
    report = register_province_sources(session, hue, settings=settings, catalogue=catalogue)
    # then each became what its homepage offers
    sources = {s.name: s for s in session.scalars(select(Source))}
    assert len(report.sources) == 3 and report.created == 3
    rss, robots, none = sources["Báo rss"], sources["Báo robots"], sources["Báo none"]
    assert (rss.kind, rss.url) == ("rss", outlets["rss"].site.base_url + "/rss/tin-moi.rss")
    assert robots.kind == "site" and robots.config["sitemaps"] == [
        outlets["robots"].site.base_url + "/sitemap.xml"
    ]
    assert none.kind == "site" and none.config["article_selector"] == HTML_LINKS
    assert {s.province for s in sources.values()} == {hue}
    hows = {r.name: r.how for r in report.sources}
    assert "trang chủ" in hows["Báo none"]


def test_a_province_missing_from_the_catalogue_is_refused(
    session: Session, settings: Settings
) -> None:
    catalogue = parse_catalogue("national: []\n")
    with pytest.raises(ValueError, match="Danh mục chưa có"):
        register_province_sources(session, QUANG_NGAI, settings=settings, catalogue=catalogue)
