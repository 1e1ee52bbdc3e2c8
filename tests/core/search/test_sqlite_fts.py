"""The SQLite FTS5 backend through the shared contract, plus what is specific to it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.search.base import IndexDoc, SearchQuery
from core.search.query import parse
from core.search.sqlite_fts import SqliteFtsBackend
from core.search.sqlite_rank import to_fts
from core.settings import Settings
from tests.core.search.contract import SearchContract
from tests.core.search.corpus import DOCS


class TestSqliteFts(SearchContract):
    @pytest.fixture
    def backend(self, settings: Settings) -> SqliteFtsBackend:
        b = SqliteFtsBackend(settings.search_sqlite_url, timezone=settings.timezone)
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


def test_two_processes_see_each_others_writes(settings: Settings) -> None:
    # given two backend instances on one file, as the worker and the web app have
    writer = SqliteFtsBackend(settings.search_sqlite_url)
    reader = SqliteFtsBackend(settings.search_sqlite_url)
    writer.setup()
    writer.index(DOCS[:4])
    assert reader.search(SearchQuery(q="phụ huynh", facets=True)).total == 2
    # when the writer adds, replaces and deletes documents
    writer.index(DOCS[4:])
    writer.index([replace(DOCS[1], title="Đã trả lại tiền", body="", topics=["khac"])])
    writer.delete(["d4"])
    # then the reader's cached columns follow: counts, facets and filters agree
    result = reader.search(SearchQuery(q="", size=100, facets=True))
    assert result.total == len(DOCS) - 1
    assert {h.id for h in result.hits} == {d.id for d in DOCS} - {"d4"}
    topics = {b.value: b.count for b in result.facets["topic"]}
    assert "hoc_phi_thu_chi" not in topics and topics["khac"] == 1
    assert reader.search(SearchQuery(topics=["hoc_phi_thu_chi"])).total == 0
    # and after a clear (a full reindex) the reader starts over
    writer.clear()
    writer.index(DOCS[:1])
    assert reader.search(SearchQuery(q="")).total == 1


def test_relevance_window_ranks_only_the_newest_hits(settings: Settings) -> None:
    # given more matches than the rescore window
    backend = SqliteFtsBackend(settings.search_sqlite_url)
    backend.setup()
    docs = [
        IndexDoc(id=f"n{i}", title="tin giáo dục", body="giáo dục " * (i % 5)) for i in range(30)
    ]
    backend.index(docs)
    # when
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("core.search.sqlite_fts.RESCORE_WINDOW", 10)
        result = backend.search(SearchQuery(q="giáo dục", size=30))
    # then every hit is returned once, the scored window first
    assert result.total == 30 and len({h.id for h in result.hits}) == 30
    assert all(h.score > 0 for h in result.hits[:10])
    assert all(h.score == 0 for h in result.hits[10:])


def test_an_index_made_before_the_exact_table_is_filled_on_setup(settings: Settings) -> None:
    # given an index written before search_exact existed (simulated: the table dropped)
    old = SqliteFtsBackend(settings.search_sqlite_url)
    old.setup()
    old.index(SearchContract.SPELLING_DOCS)
    with old.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE search_exact")
        conn.exec_driver_sql("DELETE FROM search_state WHERE key LIKE 'exact_%'")
    # when a process sets it up again (in chunks smaller than the index)
    new = SqliteFtsBackend(settings.search_sqlite_url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("core.search.sqlite_fts_write.BACKFILL_CHUNK", 2)
        new.setup()
    # then exclusions by spelling see the old rows, and deleting them stays consistent
    assert {h.id for h in new.search(SearchQuery(q="giáo dục -Đức", size=10)).hits} == {
        "s1",
        "s3",
        "s5",
    }
    new.delete(["s2"])
    new.index([replace(SearchContract.SPELLING_DOCS[0], title="Giáo dục Đức")])
    with new.engine.connect() as conn:
        check = "INSERT INTO search_exact(search_exact) VALUES ('integrity-check')"
        conn.exec_driver_sql(check)
    assert {h.id for h in new.search(SearchQuery(q="giáo dục -Đức", size=10)).hits} == {
        "s3",
        "s5",
    }
