"""The fixture web: local press sites of our own on 127.0.0.1 for the demo, tests and benches.

`DemoSite` is one small paper with an RSS feed (`diemtin run --demo`); `PressWeb` is three
Vietnamese newspapers for the site crawler and extractor (robots.txt, sitemaps, paginated
listings, RSS, syndicated copies, and traps: a malformed page and an oversized one). Both are
served by fixtureweb.serve and write RSS with fixtureweb.rss. It imports core only."""

from fixtureweb.articles import FixtureArticle
from fixtureweb.catalogue import PRIVATE_LINK, ExpectedArticle
from fixtureweb.demo import DEMO_SOURCE_NAME, DemoSite, register_demo_source
from fixtureweb.demo_articles import DemoArticle
from fixtureweb.press import PressWeb

__all__ = [
    "DEMO_SOURCE_NAME",
    "PRIVATE_LINK",
    "DemoArticle",
    "DemoSite",
    "ExpectedArticle",
    "FixtureArticle",
    "PressWeb",
    "register_demo_source",
]
