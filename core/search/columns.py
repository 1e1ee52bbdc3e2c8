"""An in-memory, columnar copy of the search index's filter fields (numpy arrays indexed by
rowid), so counting facets and histogram days over tens of thousands of hits takes a few
vectorised passes instead of SQL GROUP BY sorts.

It is a cache of `search_meta` / `search_units`, kept in step incrementally: rowids only grow
(AUTOINCREMENT), deletions are logged in `search_deleted`, and `clear()` bumps an epoch that
forces a full reload. Every process (web app, worker) keeps its own copy."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from core.taxonomy import RISKS, SENTIMENTS

NULL = -1
PLACE_COMMUNE = 100_000
# Codes for the two closed label sets; an unknown label stored by an older model still counts.
_CODES: dict[str, dict[str, int]] = {
    "sentiment": {v: i for i, v in enumerate(SENTIMENTS)},
    "risk": {v: i for i, v in enumerate(RISKS)},
}


def encode_place(code: str) -> int:
    """A place code as one integer: communes (5 digits) apart from provinces (2 digits)."""
    return int(code) + (PLACE_COMMUNE if len(code) > 2 else 0)


def decode_place(value: int) -> str:
    """The place code encode_place() packed."""
    return f"{value - PLACE_COMMUNE:05d}" if value >= PLACE_COMMUNE else f"{value:02d}"


def ids_from_concat(text: str | None) -> np.ndarray:
    """Parse SQLite's group_concat(rowid) output (one string beats 50,000 Python tuples)."""
    if not text:
        return np.empty(0, dtype=np.int64)
    return np.array(text.split(","), dtype=np.int64)


class Columns:
    """rowid -> published, day, source, sentiment, risk, topic mask, alive; plus unit pairs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.epoch = -1
        self.max_rowid = 0
        self.deleted_seq = 0
        self._alloc(0)
        self.unit_rowid = np.empty(0, dtype=np.int64)
        self.unit_id = np.empty(0, dtype=np.int64)
        self.place_rowid = np.empty(0, dtype=np.int64)
        self.place_id = np.empty(0, dtype=np.int64)
        self.source_names: dict[int, str] = {}
        self.labels: dict[str, list[str]] = {k: list(v) for k, v in _CODES.items()}

    published: np.ndarray
    day: np.ndarray
    source: np.ndarray
    sentiment: np.ndarray
    risk: np.ndarray
    topics: np.ndarray
    alive: np.ndarray
    # name -> (dtype, value of an empty slot)
    _ARRAYS: dict[str, tuple[Any, Any]] = {
        "published": (np.int64, np.iinfo(np.int64).min),
        "day": (np.int32, NULL),
        "source": (np.int64, NULL),
        "sentiment": (np.int8, NULL),
        "risk": (np.int8, NULL),
        "topics": (np.int64, 0),
        "alive": (bool, False),
    }

    def _alloc(self, size: int) -> None:
        for name, (dtype, empty) in self._ARRAYS.items():
            setattr(self, name, np.full(size, empty, dtype=dtype))

    def _grow(self, needed: int) -> None:
        size = len(self.alive)
        if needed < size:
            return
        old = {name: getattr(self, name) for name in self._ARRAYS}
        self._alloc(max(needed + 1, size * 2, 1024))
        for name, values in old.items():
            getattr(self, name)[:size] = values

    def code(self, field: str, value: str | None) -> int:
        """The small-int code of a sentiment or risk label (new labels get new codes)."""
        if value is None:
            return NULL
        codes = _CODES[field]
        if value not in codes:
            codes[value] = len(codes)
            self.labels[field].append(value)
        return codes[value]

    def sync(self, cur: Any) -> None:
        """Bring the arrays up to date with the tables (cheap when nothing changed)."""
        with self.lock:
            epoch = cur.execute("SELECT value FROM search_state WHERE key = 'epoch'").fetchone()
            epoch = epoch[0] if epoch else 0
            if epoch != self.epoch:
                self.__init__()  # type: ignore[misc]
                self.epoch = epoch
            # Read the deletion log first: a row deleted after this point is caught next time.
            deleted = cur.execute(
                "SELECT seq, rowid FROM search_deleted WHERE seq > ? ORDER BY seq",
                (self.deleted_seq,),
            ).fetchall()
            rows = cur.execute(
                "SELECT m.rowid, m.published, m.day, m.source_id, m.sentiment, m.risk, "
                "m.topic_mask, d.source_name FROM search_meta m JOIN search_docs d "
                "ON d.rowid = m.rowid WHERE m.rowid > ? ORDER BY m.rowid",
                (self.max_rowid,),
            ).fetchall()
            if rows:
                self._grow(rows[-1][0])
                rid = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                self.published[rid] = [
                    np.iinfo(np.int64).min if r[1] is None else r[1] for r in rows
                ]
                self.day[rid] = [NULL if r[2] is None else r[2] for r in rows]
                self.source[rid] = [NULL if r[3] is None else r[3] for r in rows]
                self.sentiment[rid] = [self.code("sentiment", r[4]) for r in rows]
                self.risk[rid] = [self.code("risk", r[5]) for r in rows]
                self.topics[rid] = [r[6] for r in rows]
                self.alive[rid] = True
                for r in rows:
                    if r[3] is not None:
                        self.source_names[r[3]] = r[7]
                units = cur.execute(
                    "SELECT rowid, unit FROM search_units WHERE rowid > ? AND rowid <= ?",
                    (self.max_rowid, int(rid[-1])),
                ).fetchall()
                if units:
                    self.unit_rowid = np.concatenate(
                        [self.unit_rowid, np.array([u[0] for u in units], dtype=np.int64)]
                    )
                    self.unit_id = np.concatenate(
                        [self.unit_id, np.array([u[1] for u in units], dtype=np.int64)]
                    )
                places = cur.execute(
                    "SELECT rowid, place FROM search_places WHERE rowid > ? AND rowid <= ?",
                    (self.max_rowid, int(rid[-1])),
                ).fetchall()
                if places:
                    self.place_rowid = np.concatenate(
                        [self.place_rowid, np.array([p[0] for p in places], dtype=np.int64)]
                    )
                    self.place_id = np.concatenate(
                        [self.place_id, np.array([p[1] for p in places], dtype=np.int64)]
                    )
                self.max_rowid = int(rid[-1])
            if deleted:
                gone = np.array([r[1] for r in deleted], dtype=np.int64)
                self.alive[gone[gone < len(self.alive)]] = False
                self.deleted_seq = deleted[-1][0]
