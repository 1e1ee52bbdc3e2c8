"""The fixture press web: three Vietnamese newspapers of our own on 127.0.0.1, for tests and
benchmarks of the site crawler and extractor (robots.txt, sitemaps, paginated listings, RSS,
syndicated copies, and traps: a malformed page and an oversized one)."""

from crawlers.fixtureweb.articles import FixtureArticle
from crawlers.fixtureweb.server import ExpectedArticle, PressWeb

__all__ = ["ExpectedArticle", "FixtureArticle", "PressWeb"]
