"""The embedded search backend: SQLite FTS5 tables in the database file itself.

Text is folded (no diacritics, đ -> d, lowercase) by core.text before it reaches FTS5, so
"giao duc" finds "giáo dục" and "Đà Nẵng" finds "da nang". The FTS table is contentless:
the original text lives once in `search_docs` for snippets and for FTS5's delete command."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from core.db import get_engine
from core.search.base import (
    FACET_FIELDS,
    Bucket,
    Hit,
    SearchQuery,
    SearchResult,
    label_places,
    register_backend,
)
from core.search.columns import NULL, Columns, decode_place, encode_place, ids_from_concat
from core.search.highlight import highlight_all, snippet
from core.search.query import Node, Term, parse, positive_terms
from core.search.sqlite_fts_write import TOPIC_BITS, FtsWriter, _epoch
from core.search.sqlite_rank import matching_ids, scoring_expr, tiers

TITLE_WEIGHT, BODY_WEIGHT = 3.0, 1.0
RESCORE_WINDOW = 5000
NO_DATE = np.iinfo(np.int64).min
FACET_LIMIT = 20
# A tier outweighs any BM25 difference in the reported score (BM25 here stays far below it).
TIER_SCALE = 1000.0


class SqliteFtsBackend(FtsWriter):
    """SearchBackend on SQLite FTS5 (same file as the database by default)."""

    name = "sqlite"

    def __init__(self, url: str | None = None, timezone: str = "Asia/Ho_Chi_Minh"):
        self.engine = get_engine(url)
        if self.engine.dialect.name != "sqlite":
            raise ValueError("the sqlite search backend needs a SQLite database URL")
        self.tz = ZoneInfo(timezone)
        self._ready = False
        self.columns = Columns()

    def refresh(self) -> None:
        """Committed rows are visible at once in SQLite; nothing to do."""

    def count(self) -> int:
        self.setup()
        with self.engine.connect().execution_options(read_only=True) as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM search_meta").scalar_one())

    def ping(self) -> bool:
        try:
            with self.engine.connect().execution_options(read_only=True) as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    # -- searching -----------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        query.validate()
        node = parse(query.q)
        self.setup()
        with self.engine.connect().execution_options(read_only=True) as conn:
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                self.columns.sync(cur)
                ids = self._filter(query, self._candidates(cur, node))
                result = SearchResult(
                    total=int(len(ids)), hits=[], page=query.page, size=query.size
                )
                order, scores = self._order(cur, query, node, ids)
                window = slice((query.page - 1) * query.size, query.page * query.size)
                result.hits = self._hits(
                    cur, order[window], scores[window], positive_terms(node), query.highlight
                )
            finally:
                conn.rollback()
        if query.facets:
            result.facets = self._facets(ids)
        if query.histogram:
            result.histogram = self._histogram(ids, query.histogram)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _match(self, cur: Any, table: str, expr: str, floor: int = 0) -> np.ndarray:
        """Rowids (ascending) of `table` matching an FTS5 expression, from rowid `floor` on."""
        text = cur.execute(
            f"SELECT group_concat(rowid) FROM {table} WHERE {table} MATCH ? AND rowid >= ?",
            (expr, floor),
        ).fetchone()[0]
        ids = ids_from_concat(text)
        if len(ids) and ids.max() > self.columns.max_rowid:
            self.columns.sync(cur)  # rows indexed since this search began
        return ids[ids < len(self.columns.alive)]

    def _candidates(self, cur: Any, node: Node | None) -> np.ndarray:
        """Rowids of live documents that match the text part of the query."""
        alive = self.columns.alive
        if node is None:
            return np.flatnonzero(alive)
        ids = matching_ids(
            lambda table, expr, floor: self._match(cur, table, expr, floor),
            node,
            lambda: np.flatnonzero(self.columns.alive),
        )
        ids = ids[ids < len(self.columns.alive)]
        return ids[self.columns.alive[ids]]

    def _filter(self, q: SearchQuery, ids: np.ndarray) -> np.ndarray:
        c = self.columns
        keep = np.ones(len(ids), dtype=bool)
        if q.date_from:
            keep &= c.published[ids] >= _epoch(q.date_from)
        if q.date_to:
            pub = c.published[ids]
            keep &= (pub <= _epoch(q.date_to)) & (pub != NO_DATE)
        if q.sources:
            keep &= np.isin(c.source[ids], q.sources)
        for field, values, column in (
            ("sentiment", q.sentiments, c.sentiment),
            ("risk", q.risks, c.risk),
        ):
            if values:
                keep &= np.isin(column[ids], [c.code(field, v) for v in values])
        if q.topics:
            mask = 0
            for topic in q.topics:
                mask |= TOPIC_BITS.get(topic, 0)
            keep &= (c.topics[ids] & mask) != 0
        if q.units:
            rows = c.unit_rowid[np.isin(c.unit_id, q.units)]
            keep &= np.isin(ids, rows)
        if q.places:
            rows = c.place_rowid[np.isin(c.place_id, [encode_place(p) for p in q.places])]
            keep &= np.isin(ids, rows)
        return ids[keep]

    def _order(
        self, cur: Any, q: SearchQuery, node: Node | None, ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The matching rowids (ascending on input) in result order, with their scores."""
        scores = np.zeros(len(ids))
        if not len(ids):
            return ids, scores
        pub = self.columns.published[ids]
        # Newest first, undated last; ties newest-indexed first.
        newest = np.where(pub == NO_DATE, np.iinfo(np.int64).max, -pub)
        expr = None if node is None else scoring_expr(node)
        if q.sort != "relevance" or node is None or expr is None:
            order = np.lexsort((-ids, newest))
            return ids[order], scores
        # bm25() costs ~2 µs a hit, most of a broad query's time. Like a rescore window, only
        # the newest-indexed RESCORE_WINDOW hits are ranked by relevance; the rest follow
        # them, newest first. FTS5 applies the rowid bound before scoring.
        floor = int(ids[-RESCORE_WINDOW]) if len(ids) > RESCORE_WINDOW else int(ids[0])
        rows = cur.execute(
            f"SELECT rowid, bm25(search_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) FROM search_fts "
            "WHERE search_fts MATCH ? AND rowid >= ?",
            (expr, floor),
        ).fetchall()
        scores[:] = np.inf
        if rows:
            scored = np.array(rows, dtype=np.float64)
            rid = scored[:, 0].astype(np.int64)
            pos = np.searchsorted(ids, rid)
            ok = pos < len(ids)
            ok[ok] = ids[pos[ok]] == rid[ok]
            scores[pos[ok]] = scored[ok, 1]
        # Exact spelling, then words side by side, then all in the title (core.search.ranking)
        # come before BM25, which orders within each tier.
        tier = tiers(lambda t, e, f: self._match(cur, t, e, f), node, ids, floor)
        order = np.lexsort((ids, newest, scores, -tier))
        # bm25() is lower-is-better; report higher = better, like every backend.
        bm25 = np.where(np.isinf(scores[order]), 0.0, -scores[order])
        return ids[order], bm25 + TIER_SCALE * tier[order]

    def _hits(
        self,
        cur: Any,
        page: np.ndarray,
        scores: np.ndarray,
        terms: list[Term],
        highlight: bool,
    ) -> list[Hit]:
        if not len(page):
            return []
        marks = ",".join("?" * len(page))
        rows = {
            r[0]: r[1:]
            for r in cur.execute(
                "SELECT d.rowid, d.doc_id, d.title, d.url, d.source_name, d.topics, d.units, "
                "d.lead, d.body, m.published, m.source_id, m.sentiment, m.risk "
                f"FROM search_docs d JOIN search_meta m ON m.rowid = d.rowid "
                f"WHERE d.rowid IN ({marks})",
                [int(i) for i in page],
            ).fetchall()
        }
        places: dict[int, list[str]] = {}
        for rowid, place in cur.execute(
            f"SELECT rowid, place FROM search_places WHERE rowid IN ({marks}) ORDER BY place",
            [int(i) for i in page],
        ):
            places.setdefault(rowid, []).append(decode_place(place))
        hits = []
        for rowid, score in zip(page.tolist(), scores.tolist(), strict=True):
            if rowid not in rows:
                continue  # deleted while this search ran
            doc_id, title, url, source_name, topics, units, lead, body, published, *rest = rows[
                rowid
            ]
            source_id, sentiment, risk = rest
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
                score=score,
                places=places.get(rowid, []),
            )
            if highlight:
                hit.title_html = highlight_all(title, terms)
                hit.snippet_html = snippet(f"{lead} {body}".strip(), terms)
            hits.append(hit)
        return hits

    def _facets(self, ids: np.ndarray) -> dict[str, list[Bucket]]:
        c = self.columns

        def buckets(values: np.ndarray, label: Any = None) -> list[Bucket]:
            vals, counts = np.unique(values, return_counts=True)
            pairs = sorted(zip(vals.tolist(), counts.tolist(), strict=True), key=lambda p: -p[1])
            return [
                Bucket(str(label(v)) if label else str(v), int(n), None)
                for v, n in pairs[:FACET_LIMIT]
            ]

        sources = c.source[ids]
        facets = {"source": buckets(sources[sources != NULL])}
        for b in facets["source"]:
            b.label = c.source_names.get(int(b.value))
        for field, column in (("sentiment", c.sentiment), ("risk", c.risk)):
            codes = column[ids]
            facets[field] = buckets(codes[codes != NULL], lambda v, f=field: c.labels[f][v])
        masks = c.topics[ids]
        topic_counts = [
            (code, int(np.count_nonzero(masks & bit))) for code, bit in TOPIC_BITS.items()
        ]
        facets["topic"] = [
            Bucket(code, n) for code, n in sorted(topic_counts, key=lambda p: -p[1]) if n
        ][:FACET_LIMIT]
        hit_mask = np.zeros(len(c.alive), dtype=bool)
        hit_mask[ids] = True
        facets["unit"] = buckets(c.unit_id[hit_mask[c.unit_rowid]])
        facets["place"] = label_places(buckets(c.place_id[hit_mask[c.place_rowid]], decode_place))
        return {field: facets[field] for field in FACET_FIELDS}

    def _histogram(self, ids: np.ndarray, interval: str) -> list[Bucket]:
        # `day` is the local calendar day stored at index time; weeks and months are sums of it.
        days = self.columns.day[ids]
        ordinals, counts = np.unique(days[days != NULL], return_counts=True)
        buckets: Counter[date] = Counter()
        for ordinal, n in zip(ordinals.tolist(), counts.tolist(), strict=True):
            day = date.fromordinal(ordinal)
            if interval == "week":
                day -= timedelta(days=day.weekday())
            elif interval == "month":
                day = day.replace(day=1)
            buckets[day] += n
        return [Bucket(d.isoformat(), n) for d, n in sorted(buckets.items())]


register_backend("sqlite", SqliteFtsBackend)
