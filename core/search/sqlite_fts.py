"""The embedded search backend: SQLite FTS5 tables in the database file itself.

Text is folded (no diacritics, đ -> d, lowercase) by core.text before it reaches FTS5, so
"giao duc" finds "giáo dục" and "Đà Nẵng" finds "da nang". The FTS table is contentless:
the original text lives once in `search_docs` for snippets and for FTS5's delete command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from core.db import get_engine
from core.search.base import (
    FACET_FIELDS,
    Bucket,
    Hit,
    IndexDoc,
    QuerySyntaxError,
    SearchQuery,
    SearchResult,
    register_backend,
)
from core.search.highlight import highlight_all, snippet
from core.search.query import And, Node, Not, Or, Phrase, Term, parse, positive_terms
from core.text import fold

# Beyond this, text is stored but not indexed: nobody searches the 100,001st character.
MAX_INDEXED_CHARS = 100_000
TITLE_WEIGHT, BODY_WEIGHT = 3.0, 1.0
FACET_LIMIT = 20

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS search_docs (
        rowid INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL UNIQUE,
        published INTEGER,
        source_id INTEGER,
        source_name TEXT NOT NULL DEFAULT '',
        sentiment TEXT,
        risk TEXT,
        story_id INTEGER,
        url TEXT,
        title TEXT NOT NULL DEFAULT '',
        lead TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT '',
        topics TEXT NOT NULL DEFAULT '[]',
        units TEXT NOT NULL DEFAULT '[]'
    )""",
    "CREATE INDEX IF NOT EXISTS search_docs_published ON search_docs(published)",
    "CREATE INDEX IF NOT EXISTS search_docs_source ON search_docs(source_id, published)",
    # Multi-valued fields (topic, unit) for filters and facets.
    """CREATE TABLE IF NOT EXISTS search_terms (
        rowid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (rowid, field, value)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS search_terms_value ON search_terms(field, value, rowid)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        title, body, content='', tokenize='unicode61 remove_diacritics 2'
    )""",
]


def _epoch(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime; use timezone-aware datetimes")
    return int(value.timestamp())


def _fts_text(title: str, lead: str, body: str) -> tuple[str, str]:
    return fold(title), fold(f"{lead}\n{body}"[:MAX_INDEXED_CHARS])


def _quote(token: str) -> str:
    # Tokens are runs of letters and digits, but quote-doubling keeps FTS5 safe regardless.
    return '"' + token.replace('"', '""') + '"'


def to_fts(node: Node) -> str:
    """Translate a parsed query into an FTS5 MATCH expression (every token quoted)."""
    if isinstance(node, Term):
        return _quote(node.token) + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return _quote(" ".join(node.tokens))
    if isinstance(node, And):
        return "(" + " AND ".join(to_fts(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts(c) for c in node.children) + ")"
    if node.positive is None:
        raise QuerySyntaxError("Điều kiện KHÔNG/NOT cần một từ khóa đứng trước.")
    return f"({to_fts(node.positive)} NOT {to_fts(node.negative)})"


class SqliteFtsBackend:
    """SearchBackend on SQLite FTS5 (same file as the database by default)."""

    name = "sqlite"

    def __init__(self, url: str | None = None, timezone: str = "Asia/Ho_Chi_Minh"):
        self.engine = get_engine(url)
        if self.engine.dialect.name != "sqlite":
            raise ValueError("the sqlite search backend needs a SQLite database URL")
        self.tz = ZoneInfo(timezone)
        self._ready = False

    # -- writing -------------------------------------------------------------------------

    def setup(self) -> None:
        if self._ready:
            return
        with self.engine.begin() as conn:
            for stmt in _SCHEMA:
                conn.exec_driver_sql(stmt)
        self._ready = True

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
            # A contentless FTS5 table forgets a row only when given the exact indexed values.
            cur.executemany(
                "INSERT INTO search_fts(search_fts, rowid, title, body) VALUES('delete', ?, ?, ?)",
                [(r[0], *_fts_text(r[1], r[2], r[3])) for r in rows],
            )
            rowids = [(r[0],) for r in rows]
            cur.executemany("DELETE FROM search_terms WHERE rowid = ?", rowids)
            cur.executemany("DELETE FROM search_docs WHERE rowid = ?", rowids)

    def index(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        self.setup()
        # The last version of a document given twice in one batch wins.
        latest = {d.id: d for d in docs}
        with self.engine.begin() as conn:
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._delete_rows(cur, list(latest))
            fts_rows, term_rows = [], []
            for d in latest.values():
                cur.execute(
                    "INSERT INTO search_docs (doc_id, published, source_id, source_name, "
                    "sentiment, risk, story_id, url, title, lead, body, topics, units) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        d.id,
                        _epoch(d.published_at),
                        d.source_id,
                        d.source_name,
                        d.sentiment,
                        d.risk,
                        d.story_id,
                        d.url,
                        d.title,
                        d.lead,
                        d.body,
                        json.dumps(d.topics, ensure_ascii=False),
                        json.dumps(d.units),
                    ),
                )
                rowid = cur.lastrowid
                fts_rows.append((rowid, *_fts_text(d.title, d.lead, d.body)))
                term_rows += [(rowid, "topic", t) for t in set(d.topics)]
                term_rows += [(rowid, "unit", str(u)) for u in set(d.units)]
            cur.executemany("INSERT INTO search_fts(rowid, title, body) VALUES (?,?,?)", fts_rows)
            cur.executemany("INSERT INTO search_terms VALUES (?,?,?)", term_rows)

    def delete(self, ids: Sequence[str]) -> None:
        self.setup()
        with self.engine.begin() as conn:
            self._delete_rows(conn.connection.driver_connection.cursor(), list(ids))  # type: ignore[union-attr]

    def clear(self) -> None:
        self.setup()
        with self.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM search_docs")
            conn.exec_driver_sql("DELETE FROM search_terms")
            conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES('delete-all')")

    def refresh(self) -> None:
        """Committed rows are visible at once in SQLite; nothing to do."""

    def optimize(self) -> None:
        """Merge FTS5 segments (after a bulk load) so queries touch fewer b-trees."""
        self.setup()
        with self.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES('optimize')")

    def count(self) -> int:
        self.setup()
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM search_docs").scalar_one())

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    # -- searching -----------------------------------------------------------------------

    def _filters(self, q: SearchQuery) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if q.date_from:
            where.append("d.published >= ?")
            params.append(_epoch(q.date_from))
        if q.date_to:
            where.append("d.published <= ?")
            params.append(_epoch(q.date_to))

        def members(column: str, values: Iterable[Any]) -> None:
            vals = list(values)
            if vals:
                where.append(f"{column} IN ({','.join('?' * len(vals))})")
                params.extend(vals)

        members("d.source_id", q.sources)
        members("d.sentiment", q.sentiments)
        members("d.risk", q.risks)
        for field, values in (("topic", q.topics), ("unit", [str(u) for u in q.units])):
            if values:
                where.append(
                    "d.rowid IN (SELECT rowid FROM search_terms WHERE field = ? "
                    f"AND value IN ({','.join('?' * len(values))}))"
                )
                params += [field, *values]
        return where, params

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        query.validate()
        node = parse(query.q)
        self.setup()
        where, params = self._filters(query)
        with self.engine.connect() as conn:
            try:
                source, where, params, scored = self._hit_source(conn, node, where, params)
                result = self._collect(conn, query, node, source, where, params, scored)
            finally:
                conn.rollback()
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _hit_source(
        self, conn: Connection, node: Node | None, where: list[str], params: list[Any]
    ) -> tuple[str, list[str], list[Any], bool]:
        """Where the matching rows come from: the table itself, or a temp table of FTS hits."""
        if node is None:
            return "search_docs d", where, params, False
        if isinstance(node, Not) and node.positive is None:
            where = [
                *where,
                "d.rowid NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)",
            ]
            return "search_docs d", where, [*params, to_fts(node.negative)], False
        # One FTS evaluation per search: the hits, count, facets and histogram all read it.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS hits (rowid INTEGER PRIMARY KEY, score REAL)"
        )
        conn.exec_driver_sql("DELETE FROM temp.hits")
        sql = (
            "INSERT INTO temp.hits SELECT f.rowid, "
            f"bm25(search_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) FROM search_fts f "
            "CROSS JOIN search_docs d ON d.rowid = f.rowid WHERE search_fts MATCH ?"
        )
        sql += "".join(f" AND {w}" for w in where)
        conn.exec_driver_sql(sql, (to_fts(node), *params))
        return "temp.hits h CROSS JOIN search_docs d ON d.rowid = h.rowid", [], [], True

    def _collect(
        self,
        conn: Connection,
        q: SearchQuery,
        node: Node | None,
        source: str,
        where: list[str],
        params: list[Any],
        scored: bool,
    ) -> SearchResult:
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        total = int(
            conn.exec_driver_sql(f"SELECT count(*) FROM {source}{cond}", tuple(params)).scalar_one()
        )
        if q.sort == "relevance" and scored:
            order = "h.score, d.published DESC"
        else:
            order = "d.published IS NULL, d.published DESC, d.rowid DESC"
        score = "h.score" if scored else "0.0"
        rows = conn.exec_driver_sql(
            f"SELECT d.doc_id, d.title, d.url, d.source_id, d.source_name, d.published, d.topics, "
            f"d.sentiment, d.risk, d.units, {score}, d.lead, d.body FROM {source}{cond} "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, q.size, (q.page - 1) * q.size),
        ).all()
        terms = positive_terms(node)
        hits = []
        for r in rows:
            hit = Hit(
                id=r[0],
                title=r[1],
                url=r[2],
                source_id=r[3],
                source_name=r[4],
                published_at=None if r[5] is None else datetime.fromtimestamp(r[5], UTC),
                topics=json.loads(r[6]),
                sentiment=r[7],
                risk=r[8],
                units=json.loads(r[9]),
                # bm25() is lower-is-better; flip it so every backend reports higher = better.
                score=-float(r[10]),
            )
            if q.highlight:
                hit.title_html = highlight_all(r[1], terms)
                hit.snippet_html = snippet(f"{r[11]} {r[12]}".strip(), terms)
            hits.append(hit)
        result = SearchResult(total=total, hits=hits, page=q.page, size=q.size)
        if q.facets:
            result.facets = self._facets(conn, source, cond, params)
        if q.histogram:
            result.histogram = self._histogram(conn, q.histogram, source, cond, params)
        return result

    def _facets(
        self, conn: Connection, source: str, cond: str, params: list[Any]
    ) -> dict[str, list[Bucket]]:
        facets: dict[str, list[Bucket]] = {}
        for field in FACET_FIELDS:
            if field in ("topic", "unit"):
                sql = (
                    f"SELECT t.value, count(*), NULL FROM {source} "
                    f"JOIN search_terms t ON t.rowid = d.rowid AND t.field = '{field}'{cond} "
                    "GROUP BY t.value"
                )
            else:
                column = {"source": "d.source_id", "sentiment": "d.sentiment", "risk": "d.risk"}[
                    field
                ]
                label = "max(d.source_name)" if field == "source" else "NULL"
                extra = f"{column} IS NOT NULL"
                sql = (
                    f"SELECT {column}, count(*), {label} FROM {source}"
                    f"{cond + ' AND ' if cond else ' WHERE '}{extra} GROUP BY {column}"
                )
            sql += f" ORDER BY 2 DESC, 1 LIMIT {FACET_LIMIT}"
            rows = conn.exec_driver_sql(sql, tuple(params)).all()
            facets[field] = [Bucket(str(v), int(c), lbl) for v, c, lbl in rows]
        return facets

    def _histogram(
        self, conn: Connection, interval: str, source: str, cond: str, params: list[Any]
    ) -> list[Bucket]:
        # Buckets follow the local calendar (Asia/Ho_Chi_Minh has had no DST since 1975, so one
        # offset taken now is right for every stored time).
        offset = int(datetime.now(self.tz).utcoffset().total_seconds())  # type: ignore[union-attr]
        local = f"d.published + {offset}, 'unixepoch'"
        bucket = {
            "day": f"date({local})",
            "week": f"date({local}, '-6 days', 'weekday 1')",
            "month": f"strftime('%Y-%m-01', {local})",
        }[interval]
        extra = "d.published IS NOT NULL"
        sql = (
            f"SELECT {bucket} AS b, count(*) FROM {source}"
            f"{cond + ' AND ' if cond else ' WHERE '}{extra} GROUP BY b ORDER BY b"
        )
        return [Bucket(str(b), int(c)) for b, c in conn.exec_driver_sql(sql, tuple(params)).all()]


register_backend("sqlite", SqliteFtsBackend)
