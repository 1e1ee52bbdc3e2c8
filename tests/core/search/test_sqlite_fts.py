"""The SQLite FTS5 backend through the shared contract, plus what is specific to it."""

from __future__ import annotations

import pytest

from core.search.query import parse
from core.search.sqlite_fts import SqliteFtsBackend, to_fts
from core.settings import Settings
from tests.core.search.contract import SearchContract


class TestSqliteFts(SearchContract):
    @pytest.fixture
    def backend(self, settings: Settings) -> SqliteFtsBackend:
        b = SqliteFtsBackend(settings.db_url, timezone=settings.timezone)
        b.setup()
        return b


@pytest.mark.parametrize(
    ("query", "fts"),
    [
        ("giáo dục", '("giao" AND "duc")'),
        ('"lạm thu"', '"lam thu"'),
        ("NEAR(", '"near"'),
        ("a OR bc*", '("a" OR "bc"*)'),
        ("x -y", '("x" NOT "y")'),
        ("GD&ĐT", '"gd dt"'),
    ],
)
def test_user_text_never_reaches_fts_syntax(query: str, fts: str) -> None:
    # every token is quoted, so FTS5 operators in user text are just words
    node = parse(query)
    assert node is not None
    assert to_fts(node) == fts
