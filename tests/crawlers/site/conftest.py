"""Fixtures of the site-crawler tests: the fixture press web and, per test module, one
environment and database shared by several assertions (each crawl starts a child process,
which costs a couple of seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import crawlers.connectors.site  # noqa: F401  (registers the "site" connector)
from core import db
from core.celery_app import configure
from core.models import Source
from core.settings import Settings, get_settings
from fixtureweb import PressWeb
from tests.conftest import TEST_ENV, reset_caches

# The fixture web's oversized page is bigger than this, its articles far smaller.
MAX_BYTES = 200_000
HUGE_PAGE_BYTES = 300_000


@pytest.fixture(scope="module")
def press_web() -> Iterator[PressWeb]:
    """The three fixture papers, with the malformed and the oversized page on baoC."""
    web = PressWeb(traps=True, huge_page_bytes=HUGE_PAGE_BYTES).start()
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture(scope="module")
def site_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Test settings for the whole module (loopback allowed, a small download size limit).

    Set in the environment too: the crawl's child process reads it."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in TEST_ENV.items():
            mp.setenv(key, value)
        data_dir: Path = tmp_path_factory.mktemp("site") / "var"
        mp.setenv("DIEMTIN_DATA_DIR", str(data_dir))
        mp.setenv("DIEMTIN_HTTP_MAX_BYTES", str(MAX_BYTES))
        reset_caches()
        current = get_settings()
        configure(current)
        yield current
        db.get_engine().dispose()
        reset_caches()


@pytest.fixture(scope="module")
def site_session(site_settings: Settings) -> Iterator[Session]:
    """A session on a migrated database shared by the module's tests."""
    db.migrate()
    session = db.new_session()
    try:
        yield session
    finally:
        session.close()


def site_source(web: PressWeb, paper: str, **config: Any) -> Source:
    """A kind="site" Source (not stored) for one fixture paper; `config` overrides."""
    config.setdefault("start_delay_s", 0.0)
    return Source(
        name=web.paper_name(paper),
        kind="site",
        url=web.base_url(paper) + "/",
        scope="local",
        config=web.source_config(paper, **config),
    )
