"""Writing the embedded search index: the FTS5 schema, indexing, deleting, merging.

Every write shares the database file's one write lock with the documents, so each one is
kept short (issue 15): indexing commits every WRITE_SLICE_S, merging goes in steps."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from core.db_lock import begin_write
from core.search.base import IndexDoc
from core.search.columns import encode_place
from core.search.sqlite_rank import exact_text
from core.taxonomy import TOPICS
from core.text import fold

# Beyond this, text is stored but not indexed: nobody searches the 100,001st character.
MAX_INDEXED_CHARS = 100_000
# Index writes commit at least this often, and segment merges go this many pages a step, so
# the write lock shared with the documents is never held long (issue 15: <= 250 ms).
WRITE_SLICE_S = 0.05
MERGE_PAGES = 200
CLEAR_CHUNK = 200

_SCHEMA = [
    # Narrow rows for filters, facets and the histogram: a scan over every hit stays in a
    # few thousand pages instead of dragging each article's text through the page cache.
    """CREATE TABLE IF NOT EXISTS search_meta (
        rowid INTEGER PRIMARY KEY,
        published INTEGER,
        day INTEGER,
        source_id INTEGER,
        sentiment TEXT,
        risk TEXT,
        topic_mask INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS search_meta_published ON search_meta(published)",
    "CREATE INDEX IF NOT EXISTS search_meta_source ON search_meta(source_id, published)",
    # AUTOINCREMENT: rowids never come back, so the columnar cache can load "rowid > max".
    """CREATE TABLE IF NOT EXISTS search_docs (
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL UNIQUE,
        source_name TEXT NOT NULL DEFAULT '',
        story_id INTEGER,
        url TEXT,
        topics TEXT NOT NULL DEFAULT '[]',
        units TEXT NOT NULL DEFAULT '[]',
        title TEXT NOT NULL DEFAULT '',
        lead TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT ''
    )""",
    # Units are open-ended (every school of the province), so they get a table of their own.
    """CREATE TABLE IF NOT EXISTS search_units (
        rowid INTEGER NOT NULL, unit INTEGER NOT NULL, PRIMARY KEY (rowid, unit)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS search_units_unit ON search_units(unit, rowid)",
    # Places likewise (core.search.columns.encode_place packs a code into the integer).
    """CREATE TABLE IF NOT EXISTS search_places (
        rowid INTEGER NOT NULL, place INTEGER NOT NULL, PRIMARY KEY (rowid, place)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS search_places_place ON search_places(place, rowid)",
    "CREATE TABLE IF NOT EXISTS search_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS search_deleted (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, rowid INTEGER NOT NULL
    )""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        title, body, content='', tokenize='unicode61 remove_diacritics 2'
    )""",
    # The same text lowercased with its diacritics (core.search.sqlite_rank.exact_text):
    # "-Đức" excludes only that spelling, and a word typed with diacritics ranks it first.
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_exact USING fts5(
        title, body, content='', tokenize='unicode61 remove_diacritics 0'
    )""",
]
# Indices made before search_exact existed are filled from search_docs this many rows per
# write transaction (the write lock is shared with the documents).
BACKFILL_CHUNK = 200
# Topics are a closed list (docs/taxonomy.md), so a bit mask filters and counts them in one pass.
TOPIC_BITS = {code: 1 << i for i, code in enumerate(TOPICS)}


def _epoch(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime; use timezone-aware datetimes")
    return int(value.timestamp())


def _fts_text(title: str, lead: str, body: str) -> tuple[str, str]:
    return fold(title), fold(f"{lead}\n{body}"[:MAX_INDEXED_CHARS])


def _exact_text(title: str, lead: str, body: str) -> tuple[str, str]:
    return exact_text(title), exact_text(f"{lead}\n{body}"[:MAX_INDEXED_CHARS])


def _indexed(rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    """(rowid, folded title, folded body, exact title, exact body) of search_docs rows
    (rowid, title, lead, body): what the two FTS5 tables hold for them."""
    return [(r[0], *_fts_text(r[1], r[2], r[3]), *_exact_text(r[1], r[2], r[3])) for r in rows]


def _delete_fts(cur: Any, indexed: Sequence[tuple[Any, ...]]) -> None:
    """Forget rows in both FTS5 tables: contentless ones need the exact indexed values."""
    cur.executemany(
        "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES('delete', ?, ?, ?)",
        [r[:3] for r in indexed],
    )
    cur.executemany(
        "INSERT INTO search_exact(search_exact, rowid, title, body) VALUES('delete', ?, ?, ?)",
        [(r[0], *r[3:]) for r in indexed],
    )


class FtsWriter:
    """The writing half of SqliteFtsBackend."""

    engine: Engine
    tz: ZoneInfo
    _ready: bool

    def setup(self) -> None:
        if self._ready:
            return
        with self.engine.begin() as conn:
            begin_write(conn)
            had_docs = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'search_docs'"
            ).first()
            had_exact = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'search_exact'"
            ).first()
            for stmt in _SCHEMA:
                conn.exec_driver_sql(stmt)
            if had_docs and not had_exact:
                # Rows up to here predate search_exact; later ones are written to it directly.
                conn.exec_driver_sql(
                    "INSERT INTO search_state SELECT 'exact_upto', coalesce(max(rowid), 0) "
                    "FROM search_docs"
                )
        self._backfill_exact()
        self._ready = True

    def _backfill_exact(self) -> None:
        """Fill search_exact for rows indexed before it existed, a chunk per transaction; the
        progress is kept in search_state, so processes starting together share the work."""
        while True:
            with self.engine.begin() as conn:
                begin_write(conn)
                state: dict[str, int] = dict(
                    conn.exec_driver_sql(
                        "SELECT key, value FROM search_state "
                        "WHERE key IN ('exact_upto', 'exact_done')"
                    ).all()
                )
                upto, done = state.get("exact_upto", 0), state.get("exact_done", 0)
                if done >= upto:
                    return
                rows = conn.exec_driver_sql(
                    "SELECT rowid, title, lead, body FROM search_docs "
                    "WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?",
                    (done, upto, BACKFILL_CHUNK),
                ).all()
                cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cur.executemany(
                    "INSERT INTO search_exact(rowid, title, body) VALUES (?,?,?)",
                    [(r[0], *_exact_text(r[1], r[2], r[3])) for r in rows],
                )
                last = rows[-1][0] if rows else upto
                conn.exec_driver_sql(
                    "INSERT INTO search_state VALUES ('exact_done', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (last,),
                )

    def _delete_rows(self, cur: Any, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = cur.execute(
                f"SELECT rowid, title, lead, body FROM search_docs WHERE doc_id IN ({marks})",
                chunk,
            ).fetchall()
            if not rows:
                continue
            _delete_fts(cur, _indexed(rows))
            rowids = [(r[0],) for r in rows]
            for table in ("search_units", "search_places", "search_meta", "search_docs"):
                cur.executemany(f"DELETE FROM {table} WHERE rowid = ?", rowids)
            cur.executemany("INSERT INTO search_deleted (rowid) VALUES (?)", rowids)

    def _day(self, moment: datetime | None) -> int | None:
        return None if moment is None else moment.astimezone(self.tz).date().toordinal()

    def index(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        self.setup()
        # The last version of a document given twice in one batch wins.
        latest = list({d.id: d for d in docs}.values())
        done = 0
        while done < len(latest):
            # Slices of WRITE_SLICE_S, each its own transaction: FTS5's cost per document
            # varies with its length, and the file's one write lock must not wait on a
            # whole batch (a re-index; a document is re-indexed whole, so a slice is safe).
            with self.engine.begin() as conn:
                begin_write(conn)
                cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                started = time.perf_counter()
                while done < len(latest) and time.perf_counter() - started < WRITE_SLICE_S:
                    self._index_one(cur, latest[done])
                    done += 1

    def _index_one(self, cur: Any, d: IndexDoc) -> None:
        self._delete_rows(cur, [d.id])
        cur.execute(
            "INSERT INTO search_docs (doc_id, source_name, story_id, url, topics, units, "
            "title, lead, body) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                d.id,
                d.source_name,
                d.story_id,
                d.url,
                json.dumps(d.topics, ensure_ascii=False),
                json.dumps(d.units),
                d.title,
                d.lead,
                d.body,
            ),
        )
        rowid = cur.lastrowid
        mask = 0
        for topic in d.topics:
            mask |= TOPIC_BITS.get(topic, 0)
        cur.execute(
            "INSERT INTO search_meta VALUES (?,?,?,?,?,?,?)",
            (rowid, _epoch(d.published_at), self._day(d.published_at), d.source_id,
             d.sentiment, d.risk, mask),
        )  # fmt: skip
        cur.execute(
            "INSERT INTO search_fts(rowid, title, body) VALUES (?,?,?)",
            (rowid, *_fts_text(d.title, d.lead, d.body)),
        )
        cur.execute(
            "INSERT INTO search_exact(rowid, title, body) VALUES (?,?,?)",
            (rowid, *_exact_text(d.title, d.lead, d.body)),
        )
        cur.executemany(
            "INSERT INTO search_units VALUES (?,?)", [(rowid, int(u)) for u in set(d.units)]
        )
        cur.executemany(
            "INSERT INTO search_places VALUES (?,?)",
            [(rowid, encode_place(p)) for p in set(d.places)],
        )

    def delete(self, ids: Sequence[str]) -> None:
        self.setup()
        with self.engine.begin() as conn:
            begin_write(conn)
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._delete_rows(cur, list(ids))

    def clear(self, *, chunk: int = CLEAR_CHUNK) -> None:
        """Empty the index, `chunk` documents per short write transaction: one DELETE of
        100k articles held the write lock 4.5 s, FTS5's 'delete-all' 0.6 s more."""
        self.setup()
        while True:
            with self.engine.connect().execution_options(read_only=True) as conn:
                rows = conn.exec_driver_sql(
                    "SELECT rowid, title, lead, body FROM search_docs LIMIT ?", (chunk,)
                ).fetchall()
                conn.rollback()
            if not rows:
                break
            # Folded before the lock is taken: it is most of the cost.
            folded = {r[0]: r for r in _indexed(rows)}
            with self.engine.begin() as conn:
                begin_write(conn)
                cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                marks = ",".join("?" * len(folded))
                # A row re-indexed meanwhile has a new rowid (never reused): only rows still
                # there are deleted, and FTS5 is told their exact indexed text.
                alive = [
                    (r[0],)
                    for r in cur.execute(
                        f"SELECT rowid FROM search_docs WHERE rowid IN ({marks})", list(folded)
                    )
                ]
                _delete_fts(cur, [folded[rowid] for (rowid,) in alive])
                for table in ("search_units", "search_places", "search_meta", "search_docs"):
                    cur.executemany(f"DELETE FROM {table} WHERE rowid = ?", alive)
                # Other processes' cached columns follow the deletions meanwhile.
                cur.executemany("INSERT INTO search_deleted (rowid) VALUES (?)", alive)
        with self.engine.begin() as conn:
            begin_write(conn)
            # The FTS5 segments now hold only deletion markers; merges drop them.
            conn.exec_driver_sql("DELETE FROM search_deleted")
            # A new epoch makes every process's columnar cache reload from scratch.
            conn.exec_driver_sql(
                "INSERT INTO search_state VALUES ('epoch', 1) "
                "ON CONFLICT(key) DO UPDATE SET value = value + 1"
            )

    def optimize(self) -> int:
        """Merge FTS5 segments (after a bulk load) so queries touch fewer b-trees; returns
        the merge steps run.

        FTS5's 'optimize' rewrites the whole index in one transaction (seconds at 100k
        documents, every writer waiting); 'merge' does the same work in steps of
        MERGE_PAGES pages, each its own short transaction: negative once (every segment
        eligible, as 'optimize'), then positive until a step changes nothing."""
        self.setup()
        steps, pages = 0, -MERGE_PAGES
        while True:
            with self.engine.begin() as conn:
                begin_write(conn)
                dbapi_conn = conn.connection.driver_connection
                before = dbapi_conn.total_changes  # type: ignore[union-attr]
                conn.exec_driver_sql(
                    "INSERT INTO search_fts(search_fts, rank) VALUES('merge', ?)", (pages,)
                )
                worked = dbapi_conn.total_changes - before >= 2  # type: ignore[union-attr]
            steps += 1
            pages = MERGE_PAGES
            if not worked:
                break
        with self.engine.begin() as conn:
            begin_write(conn)
            # Sampled statistics: a full ANALYZE reads every index of the file under the lock.
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")
        return steps
