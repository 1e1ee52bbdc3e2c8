"""SQLite's one write lock, taken late, held briefly, waited for politely and measured.

Every transaction begins DEFERRED, so a read never takes the write lock. At its first
write (an INSERT/UPDATE/DELETE/DDL, a SAVEPOINT, a SELECT ... FOR UPDATE, or
`lock_for_write`) the still write-free transaction is rolled back and begun again with
BEGIN IMMEDIATE: upgrading the deferred read in place would fail with SQLITE_BUSY_SNAPSHOT
whenever another writer committed since it began, and no busy timeout helps that. Reads
before the first write therefore see an older snapshot than the writes, which is no weaker
than PostgreSQL's READ COMMITTED that the scaled deployment runs on; code that must read
and write atomically takes the lock first (`lock_for_write`, FOR UPDATE), as on PostgreSQL.

Taking the lock waits `BUSY_TIMEOUT_S` in SQLite's busy handler, then retries with a
logged, jittered backoff until a deadline (WRITE_DEADLINE_S, or `lock_deadline` for web
requests), then raises DatabaseBusy. Each write transaction's hold time, from the lock to
COMMIT/ROLLBACK, is recorded: `write_stats()` gives the longest, and one over
LONG_WRITE_S is logged with the code that held it."""

from __future__ import annotations

import logging
import random
import re
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# SQLite's own wait per attempt; the backoff below does the rest and says so in the log.
BUSY_TIMEOUT_S = 2.0
# How long a writer (task, CLI) waits for the lock in all before giving up.
WRITE_DEADLINE_S = 30.0
# A write transaction longer than this is logged with its holder (issue 15's target).
LONG_WRITE_S = 0.25

_STATE, _MODE, _T0, _WANT = "dt_lock_state", "dt_lock_mode", "dt_lock_t0", "dt_lock_want"
_WRITE_SQL = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|ANALYZE|SAVEPOINT|REINDEX)\b",
    re.IGNORECASE,
)
_CTE_WRITE = re.compile(r"^\s*WITH\b.*\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.I | re.S)
# PostgreSQL: serialization failure, deadlock, lock not available.
_PG_RETRYABLE = {"40001", "40P01", "55P03"}
_ROOT = Path(__file__).resolve().parents[1]
_deadline: ContextVar[float | None] = ContextVar("dt_lock_deadline", default=None)
# A writer that held the lock this long steps back before taking it again. SQLite's busy
# handler polls every 25-100 ms, so a bulk writer that re-takes the lock microseconds after
# each commit starved web requests (bench/contention.py: web writes p99 5.8 s while 3,000
# items were ingested in 100 ms slices). Half the hold, at most 50 ms, leaves them a window.
COOLDOWN_AFTER_S = 0.05
COOLDOWN_MAX_S = 0.05
_cooldown = threading.local()

T = TypeVar("T")


class DatabaseBusy(OperationalError):
    """The write lock stayed taken past the deadline (SQLite: "database is locked")."""


@dataclass(frozen=True)
class WriteStats:
    """Write transactions seen by this process since the last reset."""

    transactions: int = 0
    longest_s: float = 0.0
    longest_where: str = ""
    # Times a writer found the lock taken and backed off, and times it gave up.
    lock_retries: int = 0
    busy_failures: int = 0


_stats = WriteStats()
_stats_lock = threading.Lock()


def write_stats() -> WriteStats:
    """This process's write-transaction figures since the last reset."""
    return _stats


def longest_write() -> float:
    """Seconds the longest write transaction held the lock since the last reset."""
    return _stats.longest_s


def reset_write_stats() -> None:
    """Start counting afresh (a bench phase, a test)."""
    global _stats
    with _stats_lock:
        _stats = WriteStats()


def _bump(**changes: int) -> None:
    global _stats
    with _stats_lock:
        _stats = replace(_stats, **{k: getattr(_stats, k) + v for k, v in changes.items()})


def _holder() -> str:
    """Our innermost frames of the current stack: who held the lock."""
    frames = [
        f
        for f in traceback.extract_stack()[:-2]
        if f.filename.startswith(str(_ROOT))
        and "/.venv/" not in f.filename
        and not f.filename.endswith(("core/db_lock.py", "core/db.py"))
    ]
    parts = [f"{Path(f.filename).relative_to(_ROOT)}:{f.lineno} {f.name}" for f in frames[-4:]]
    return " <- ".join(reversed(parts)) or "?"


def _record(seconds: float) -> None:
    global _stats
    where = _holder() if seconds > min(LONG_WRITE_S, _stats.longest_s) else ""
    with _stats_lock:
        longest = seconds > _stats.longest_s
        _stats = replace(
            _stats,
            transactions=_stats.transactions + 1,
            longest_s=seconds if longest else _stats.longest_s,
            longest_where=where if longest else _stats.longest_where,
        )
    if seconds > LONG_WRITE_S:
        log.warning("a write transaction held the database lock %.0f ms: %s", seconds * 1000, where)


def is_lock_error(exc: BaseException) -> bool:
    """True for "database is locked"/busy (SQLite) or a serialisation failure (PostgreSQL):
    errors that running the transaction again later can cure."""
    if isinstance(exc, DatabaseBusy):
        return True
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return True
        return "locked" in str(orig) or "busy" in str(orig)
    return getattr(orig, "sqlstate", None) in _PG_RETRYABLE


def _backoff(attempt: int) -> float:
    # Jittered so writers that met the lock together do not all come back together.
    return min(0.05 * 2**attempt, 1.0) * random.uniform(0.5, 1.5)


@contextmanager
def lock_deadline(seconds: float) -> Iterator[None]:
    """Give up waiting for the write lock after `seconds` in this context (a web request
    answering 503 before its client gives up)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _deadline_at(start: float, deadline_s: float | None) -> float:
    own = start + (WRITE_DEADLINE_S if deadline_s is None else deadline_s)
    outer = _deadline.get()
    return own if outer is None else min(own, outer)


def _acquire(dbapi_conn: Any) -> None:
    """BEGIN IMMEDIATE, backing off while another writer holds the lock."""
    pause = getattr(_cooldown, "until", 0.0) - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    start = time.monotonic()
    deadline = _deadline_at(start, None)
    attempt = 0
    while True:
        try:
            dbapi_conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not is_lock_error(exc):
                raise
            pause = _backoff(attempt)
            waited = time.monotonic() - start
            if time.monotonic() + pause + BUSY_TIMEOUT_S > deadline:
                _bump(busy_failures=1)
                log.error("gave up waiting for the database write lock after %.1f s", waited)
                raise DatabaseBusy("BEGIN IMMEDIATE", None, exc) from exc
            attempt += 1
            _bump(lock_retries=1)
            log.warning(
                "database busy: no write lock after %.1f s (attempt %d), retrying in %.2f s",
                waited,
                attempt,
                pause,
            )
            time.sleep(pause)


def _upgrade(conn: Any) -> None:
    """Turn the connection's deferred, write-free transaction into a write transaction."""
    info = conn.info
    dbapi_conn = conn.connection.driver_connection
    if not conn.in_nested_transaction():
        # Nothing was written yet: only the read snapshot goes, and a fresh one comes with
        # the lock (see the module docstring).
        dbapi_conn.execute("ROLLBACK")
        try:
            _acquire(dbapi_conn)
        except BaseException:
            dbapi_conn.execute("BEGIN DEFERRED")
            raise
    info[_STATE] = "write"
    info[_T0] = time.perf_counter()


def _is_write(statement: str) -> bool:
    return bool(_WRITE_SQL.match(statement) or _CTE_WRITE.match(statement))


def _on_begin(conn: Any) -> None:
    options = conn.get_execution_options()
    mode = "read_only" if options.get("read_only") else "write" if options.get("write") else ""
    conn.info[_STATE] = None
    conn.exec_driver_sql("BEGIN DEFERRED")
    conn.info[_STATE], conn.info[_MODE] = "deferred", mode


def _before_execute(conn: Any, clause: Any, *_args: Any) -> None:
    # SQLite has no row locks and drops FOR UPDATE; the write lock stands in for them.
    if getattr(clause, "_for_update_arg", None) is not None:
        conn.info[_WANT] = True


def _before_cursor_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    info = conn.info
    if info.get(_STATE) != "deferred" or info.get(_MODE) == "read_only":
        return
    if info.get(_MODE) == "write" or info.pop(_WANT, False) or _is_write(statement):
        _upgrade(conn)


def _finish(info: dict[str, Any]) -> None:
    state, t0 = info.pop(_STATE, None), info.pop(_T0, None)
    info.pop(_WANT, None)
    if state == "write" and t0 is not None:
        held = time.perf_counter() - t0
        _record(held)
        if held >= COOLDOWN_AFTER_S:
            _cooldown.until = time.monotonic() + min(held / 2, COOLDOWN_MAX_S)


def install(engine: Engine) -> None:
    """Attach the deferred-then-immediate transactions and their timing to a SQLite engine."""
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "before_execute", _before_execute)
    event.listen(engine, "before_cursor_execute", _before_cursor_execute)
    event.listen(engine, "commit", lambda conn: _finish(conn.info))
    event.listen(engine, "rollback", lambda conn: _finish(conn.info))
    # A connection returned to the pool mid-transaction is rolled back there.
    event.listen(engine.pool, "reset", _on_reset)


def _on_reset(_dbapi_connection: Any, connection_record: Any, _reset_state: Any) -> None:
    _finish(connection_record.info)


def begin_write(conn: Any) -> None:
    """Take the write lock now on a Core connection (code writing through the raw
    sqlite3 cursor, which SQLAlchemy's events do not see)."""
    if conn.dialect.name != "sqlite":
        return
    if not conn.in_transaction():
        conn.begin()
    if conn.info.get(_STATE) != "write":
        if conn.info.get(_STATE) != "deferred":
            conn.exec_driver_sql("SELECT 1")  # opens the deferred transaction
        if conn.info.get(_STATE) == "deferred":
            _upgrade(conn)


def lock_for_write(session: Session) -> None:
    """Take the write lock now, before the reads a write depends on (SQLite; PostgreSQL
    code uses row or advisory locks)."""
    if session.get_bind().dialect.name == "sqlite":
        begin_write(session.connection())


def retry_on_lock(
    fn: Callable[[], T], *, deadline_s: float | None = None, what: str = "transaction"
) -> T:
    """Call `fn` (one whole transaction) again after a jittered backoff while it fails with
    a lock error, until the deadline; then the last error is raised."""
    start = time.monotonic()
    deadline = _deadline_at(start, deadline_s)
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_lock_error(exc):
                raise
            pause = _backoff(attempt)
            if time.monotonic() + pause > deadline:
                log.error(
                    "%s: database still busy after %.1f s, giving up",
                    what,
                    time.monotonic() - start,
                )
                raise
            attempt += 1
            _bump(lock_retries=1)
            log.warning(
                "%s: database busy (%s), retry %d in %.2f s",
                what,
                exc.__class__.__name__,
                attempt,
                pause,
            )
            time.sleep(pause)
