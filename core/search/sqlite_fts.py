"""The embedded search backend: SQLite FTS5 tables in the database file itself.

Text is folded (no diacritics, đ -> d, lowercase) by core.text before it reaches FTS5, so
"giao duc" finds "giáo dục" and "Đà Nẵng" finds "da nang". The FTS table is contentless:
the original text lives once in `search_docs` for snippets and for FTS5's delete command."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
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
from core.taxonomy import TOPICS
from core.text import fold

# Beyond this, text is stored but not indexed: nobody searches the 100,001st character.
MAX_INDEXED_CHARS = 100_000
TITLE_WEIGHT, BODY_WEIGHT = 3.0, 1.0
RESCORE_WINDOW = 5000
FACET_LIMIT = 20

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
    """CREATE TABLE IF NOT EXISTS search_docs (
        rowid INTEGER PRIMARY KEY,
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
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        title, body, content='', tokenize='unicode61 remove_diacritics 2'
    )""",
]
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
            for table in ("search_units", "search_meta", "search_docs"):
                cur.executemany(f"DELETE FROM {table} WHERE rowid = ?", rowids)

    def _day(self, moment: datetime | None) -> int | None:
        return None if moment is None else moment.astimezone(self.tz).date().toordinal()

    def index(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        self.setup()
        # The last version of a document given twice in one batch wins.
        latest = {d.id: d for d in docs}
        with self.engine.begin() as conn:
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._delete_rows(cur, list(latest))
            meta_rows, fts_rows, unit_rows = [], [], []
            for d in latest.values():
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
                meta_rows.append(
                    (
                        rowid,
                        _epoch(d.published_at),
                        self._day(d.published_at),
                        d.source_id,
                        d.sentiment,
                        d.risk,
                        mask,
                    )
                )
                fts_rows.append((rowid, *_fts_text(d.title, d.lead, d.body)))
                unit_rows += [(rowid, int(u)) for u in set(d.units)]
            cur.executemany("INSERT INTO search_meta VALUES (?,?,?,?,?,?,?)", meta_rows)
            cur.executemany("INSERT INTO search_fts(rowid, title, body) VALUES (?,?,?)", fts_rows)
            cur.executemany("INSERT INTO search_units VALUES (?,?)", unit_rows)

    def delete(self, ids: Sequence[str]) -> None:
        self.setup()
        with self.engine.begin() as conn:
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._delete_rows(cur, list(ids))

    def clear(self) -> None:
        self.setup()
        with self.engine.begin() as conn:
            for table in ("search_docs", "search_meta", "search_units"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
            conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES('delete-all')")

    def refresh(self) -> None:
        """Committed rows are visible at once in SQLite; nothing to do."""

    def optimize(self) -> None:
        """Merge FTS5 segments (after a bulk load) so queries touch fewer b-trees."""
        self.setup()
        with self.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES('optimize')")
            conn.exec_driver_sql("ANALYZE")

    def count(self) -> int:
        self.setup()
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM search_meta").scalar_one())

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
            where.append("m.published >= ?")
            params.append(_epoch(q.date_from))
        if q.date_to:
            where.append("m.published <= ?")
            params.append(_epoch(q.date_to))

        def members(column: str, values: Iterable[Any]) -> None:
            vals = list(values)
            if vals:
                where.append(f"{column} IN ({','.join('?' * len(vals))})")
                params.extend(vals)

        members("m.source_id", q.sources)
        members("m.sentiment", q.sentiments)
        members("m.risk", q.risks)
        if q.topics:
            mask = 0
            for topic in q.topics:
                mask |= TOPIC_BITS.get(topic, 0)
            where.append("(m.topic_mask & ?) != 0")
            params.append(mask)
        if q.units:
            where.append(
                "m.rowid IN (SELECT rowid FROM search_units "
                f"WHERE unit IN ({','.join('?' * len(q.units))}))"
            )
            params.extend(int(u) for u in q.units)
        return where, params

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        query.validate()
        node = parse(query.q)
        self.setup()
        where, params = self._filters(query)
        with self.engine.connect() as conn:
            try:
                source, where, params, scored = self._hit_source(conn, query, node, where, params)
                result = self._collect(conn, query, node, source, where, params, scored)
            finally:
                conn.rollback()
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _hit_source(
        self,
        conn: Connection,
        query: SearchQuery,
        node: Node | None,
        where: list[str],
        params: list[Any],
    ) -> tuple[str, list[str], list[Any], bool]:
        """Where the matching rows come from: the meta table, or a temp table of FTS hits."""
        if node is None:
            return "search_meta m", where, params, False
        if isinstance(node, Not) and node.positive is None:
            where = [
                *where,
                "m.rowid NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)",
            ]
            return "search_meta m", where, [*params, to_fts(node.negative)], False
        # One FTS evaluation per search: the page, count, facets and histogram all read it.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS hits (rowid INTEGER PRIMARY KEY, score REAL)"
        )
        conn.exec_driver_sql("DELETE FROM temp.hits")
        match = to_fts(node)
        join = " CROSS JOIN search_meta m ON m.rowid = f.rowid" if where else ""
        cond = "".join(f" AND {w}" for w in where)
        conn.exec_driver_sql(
            f"INSERT INTO temp.hits SELECT f.rowid, 0 FROM search_fts f{join} "
            f"WHERE search_fts MATCH ?{cond}",
            (match, *params),
        )
        scored = query.sort == "relevance"
        if scored:
            # bm25() costs ~2 µs a hit, most of a broad query's time. Like a rescore window,
            # only the newest RESCORE_WINDOW hits (highest rowids) are ranked by relevance; the
            # rest follow them, newest first. FTS5 honours the rowid bound before scoring.
            floor = conn.exec_driver_sql(
                "SELECT rowid FROM temp.hits ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                (RESCORE_WINDOW - 1,),
            ).scalar()
            conn.exec_driver_sql(
                "CREATE TEMP TABLE IF NOT EXISTS scores (rowid INTEGER PRIMARY KEY, score REAL)"
            )
            conn.exec_driver_sql("DELETE FROM temp.scores")
            conn.exec_driver_sql(
                "INSERT INTO temp.scores SELECT f.rowid, "
                f"bm25(search_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) FROM search_fts f "
                "WHERE search_fts MATCH ? AND f.rowid >= ? "
                "AND f.rowid IN (SELECT rowid FROM temp.hits)",
                (match, floor or 0),
            )
            conn.exec_driver_sql(
                "UPDATE temp.hits SET score = s.score FROM temp.scores s WHERE s.rowid = hits.rowid"
            )
        return "temp.hits h CROSS JOIN search_meta m ON m.rowid = h.rowid", [], [], scored

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
        count_from = "temp.hits" if source.startswith("temp.hits") else source
        total = int(
            conn.exec_driver_sql(
                f"SELECT count(*) FROM {count_from}{cond}", tuple(params)
            ).scalar_one()
        )
        if scored:
            order = "h.score, m.published DESC, m.rowid"
        else:
            order = "m.published IS NULL, m.published DESC, m.rowid DESC"
        page = conn.exec_driver_sql(
            f"SELECT m.rowid, {'h.score' if scored else '0.0'}, m.published, m.source_id, "
            f"m.sentiment, m.risk FROM {source}{cond} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, q.size, (q.page - 1) * q.size),
        ).all()
        texts = {}
        if page:
            marks = ",".join("?" * len(page))
            texts = {
                r[0]: r[1:]
                for r in conn.exec_driver_sql(
                    "SELECT rowid, doc_id, title, url, source_name, topics, units, lead, body "
                    f"FROM search_docs WHERE rowid IN ({marks})",
                    tuple(r[0] for r in page),
                ).all()
            }
        terms = positive_terms(node)
        hits = []
        for rowid, score, published, source_id, sentiment, risk in page:
            doc_id, title, url, source_name, topics, units, lead, body = texts[rowid]
            hit = Hit(
                id=doc_id,
                title=title,
                url=url,
                source_id=source_id,
                source_name=source_name,
                published_at=None if published is None else datetime.fromtimestamp(published, UTC),
                topics=json.loads(topics),
                sentiment=sentiment,
                risk=risk,
                units=json.loads(units),
                # bm25() is lower-is-better; flip it so every backend reports higher = better.
                score=-float(score),
            )
            if q.highlight:
                hit.title_html = highlight_all(title, terms)
                hit.snippet_html = snippet(f"{lead} {body}".strip(), terms)
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
        # One pass over the hits counts sources, sentiments, risks and every topic bit.
        topic_sums = ", ".join(f"sum((m.topic_mask & {bit}) != 0)" for bit in TOPIC_BITS.values())
        rows = conn.exec_driver_sql(
            f"SELECT m.source_id, m.sentiment, m.risk, count(*), {topic_sums} "
            f"FROM {source}{cond} GROUP BY m.source_id, m.sentiment, m.risk",
            tuple(params),
        ).all()
        counters: dict[str, Counter[str]] = {f: Counter() for f in FACET_FIELDS}
        for row in rows:
            source_id, sentiment, risk, n = row[:4]
            for field, value in (("source", source_id), ("sentiment", sentiment), ("risk", risk)):
                if value is not None:
                    counters[field][str(value)] += n
            for code, count in zip(TOPIC_BITS, row[4:], strict=True):
                if count:
                    counters["topic"][code] += count
        unit_rows = conn.exec_driver_sql(
            f"SELECT u.unit, count(*) FROM {source} JOIN search_units u ON u.rowid = m.rowid"
            f"{cond} GROUP BY u.unit",
            tuple(params),
        ).all()
        counters["unit"].update({str(unit): n for unit, n in unit_rows})
        facets = {
            field: [
                Bucket(v, c) for v, c in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
            ][:FACET_LIMIT]
            for field, counter in counters.items()
        }
        if facets["source"]:
            ids = [b.value for b in facets["source"]]
            names = dict(
                conn.exec_driver_sql(
                    "SELECT m.source_id, d.source_name FROM search_meta m JOIN search_docs d "
                    "ON d.rowid = m.rowid WHERE m.rowid IN (SELECT max(rowid) FROM search_meta "
                    f"WHERE source_id IN ({','.join('?' * len(ids))}) GROUP BY source_id)",
                    tuple(int(i) for i in ids),
                ).all()
            )
            for b in facets["source"]:
                b.label = names.get(int(b.value))
        return facets

    def _histogram(
        self, conn: Connection, interval: str, source: str, cond: str, params: list[Any]
    ) -> list[Bucket]:
        # `day` is the local calendar day stored at index time; weeks and months are sums of it.
        extra = "m.day IS NOT NULL"
        rows = conn.exec_driver_sql(
            f"SELECT m.day, count(*) FROM {source}{cond + ' AND ' if cond else ' WHERE '}{extra} "
            "GROUP BY m.day",
            tuple(params),
        ).all()
        buckets: Counter[date] = Counter()
        for ordinal, n in rows:
            day = date.fromordinal(ordinal)
            if interval == "week":
                day -= timedelta(days=day.weekday())
            elif interval == "month":
                day = day.replace(day=1)
            buckets[day] += n
        return [Bucket(d.isoformat(), n) for d, n in sorted(buckets.items())]


register_backend("sqlite", SqliteFtsBackend)
