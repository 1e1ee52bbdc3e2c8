"""Finding how to crawl an outlet known only by its homepage, on fixture outlets that offer a
feed, sitemaps named in robots.txt, a bare /sitemap.xml, or nothing; the site found is then
crawled for real, so "discovered" means its articles come in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import crawlers.connectors.site  # noqa: F401  (registers the "site" connector)
from core.models import Source, utcnow
from core.settings import Settings
from crawlers.catalogue.discover import HEADLINE_LINKS, HTML_LINKS, discover, listing_selector
from crawlers.connectors.rss import RssConnector
from crawlers.connectors.site import SiteConnector
from fixtureweb.outlet import ARTICLES, ProvincialOutlet


@pytest.fixture
def outlet(request: pytest.FixtureRequest) -> Iterator[ProvincialOutlet]:
    site = ProvincialOutlet(request.param, now=utcnow()).start()
    try:
        yield site
    finally:
        site.stop()


def _source(kind: str, url: str, config: dict[str, object]) -> Source:
    return Source(id=1, name="Báo tỉnh", kind=kind, url=url, scope="local", config=config)


@pytest.mark.parametrize("outlet", ["rss"], indirect=True)
def test_a_feed_linked_from_the_homepage_makes_an_rss_source(
    outlet: ProvincialOutlet, settings: Settings
) -> None:
    found = discover(outlet.homepage, settings=settings)
    assert (found.kind, found.url) == ("rss", outlet.site.base_url + "/rss/tin-moi.rss")
    items = RssConnector().fetch(_source(found.kind, found.url, found.config), settings).items
    assert {i.url for i in items} == {outlet.article_url(a) for a in ARTICLES}


@pytest.mark.parametrize(
    ("outlet", "how"), [("robots", "robots.txt"), ("sitemap", "sitemap.xml")], indirect=["outlet"]
)
def test_sitemaps_make_a_site_source_that_crawls_every_article(
    outlet: ProvincialOutlet, how: str, settings: Settings
) -> None:
    # given an outlet without a feed, whose sitemap robots.txt names (or does not name)
    found = discover(outlet.homepage, settings=settings)
    # then a site source on that sitemap
    assert found.kind == "site" and found.url == outlet.homepage
    assert found.config == {"sitemaps": [outlet.site.base_url + "/sitemap.xml"]}
    assert how in found.how
    # and crawling it brings every article
    output = SiteConnector().fetch(_source(found.kind, found.url, found.config), settings)
    assert {i.url for i in output.items} == {outlet.article_url(a) for a in ARTICLES}


@pytest.mark.parametrize("outlet", ["none"], indirect=True)
def test_a_homepage_without_feed_or_sitemap_is_crawled_as_a_listing(
    outlet: ProvincialOutlet, settings: Settings
) -> None:
    # given an outlet with neither feed nor sitemap (robots.txt names none, /sitemap.xml 404)
    found = discover(outlet.homepage, settings=settings)
    # then it is not dropped: a site source reading the homepage's article links
    assert found.kind == "site"
    assert found.config == {"listings": [outlet.homepage], "article_selector": HTML_LINKS}
    output = SiteConnector().fetch(_source(found.kind, found.url, found.config), settings)
    assert {i.url for i in output.items} == {outlet.article_url(a) for a in ARTICLES}
    titles = {i.title for i in output.items}
    assert "Xã miền núi khánh thành điểm trường mới trước năm học" in titles


def test_an_unreachable_homepage_still_gives_a_site_source(settings: Settings) -> None:
    # given a homepage on a port nothing listens on (a site down on the install day)
    outlet = ProvincialOutlet("none", now=utcnow()).start()
    homepage = outlet.homepage
    outlet.stop()
    found = discover(homepage, settings=settings)
    assert (found.kind, found.url) == ("site", homepage)
    assert found.config == {"listings": [homepage], "article_selector": HEADLINE_LINKS}
    assert "không truy cập được" in found.how


def test_listing_selector_falls_back_to_headlines() -> None:
    html = "<h3><a href='/tin/1'>Một</a></h3><a href='https://khac.vn/a.html'>x</a>"
    assert listing_selector("https://bao.vn/", html) == HEADLINE_LINKS
    links = "".join(f"<a href='/tin/bai-{i}.html'>{i}</a>" for i in range(3))
    assert listing_selector("https://bao.vn/", links) == HTML_LINKS
