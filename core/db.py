"""Database engine and sessions: SQLAlchemy 2, SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from core import db_lock
from core.db_lock import (  # noqa: F401  (re-exported: callers use core.db.*)
    DatabaseBusy,
    is_lock_error,
    lock_deadline,
    lock_for_write,
    longest_write,
    reset_write_stats,
    retry_on_lock,
    write_stats,
)
from core.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy, not pysqlite, opens transactions (see core.db_lock).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets the web app read while the worker writes. The busy timeout is short: a writer
    # that meets the lock waits in core.db_lock's logged, jittered backoff instead.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(db_lock.BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    # Search reads many pages per query: a bigger cache and memory-mapped reads avoid a
    # read() system call per page (the OS page cache holds the file either way).
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA mmap_size=2147483648")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


# anyio's default of 40 worker threads, two connections each, less the pool's 8.
SQLITE_MAX_OVERFLOW = 2 * 40 - 8


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the settings' database), created once per process."""
    url = url or get_settings().db_url
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # A request may hold its session's connection and the FTS search's at once, and
        # the app runs up to 40 requests in threads: a smaller pool starves under load
        # (20 clients on the search API timed out waiting for connections).
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": db_lock.BUSY_TIMEOUT_S},
            pool_size=8,
            max_overflow=SQLITE_MAX_OVERFLOW,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        db_lock.install(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


@lru_cache(maxsize=16)
def _session_factory(
    url: str, read_only: bool = False, write: bool = False
) -> sessionmaker[Session]:
    engine = get_engine(url)
    if read_only:
        engine = engine.execution_options(read_only=True)
    elif write:
        engine = engine.execution_options(write=True)
    return sessionmaker(bind=engine, expire_on_commit=False)


def new_session(url: str | None = None, *, read_only: bool = False, write: bool = False) -> Session:
    """A new session on the settings' database (caller closes it).

    On SQLite every session reads without the write lock and takes it at its first write
    (core.db_lock); `write` takes it at the first statement, so everything the session
    reads is already serialised with other writers; `read_only` sessions never take it."""
    return _session_factory(url or get_settings().db_url, read_only, write)()


@contextmanager
def session_scope(url: str | None = None, *, write: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = new_session(url, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().db_url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the database schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(url), "head")


T = TypeVar("T")


def run_in_transaction(
    fn: Callable[[Session], T],
    *,
    url: str | None = None,
    write: bool = False,
    deadline_s: float | None = None,
    what: str | None = None,
) -> T:
    """Run `fn(session)` in a transaction and commit; a transaction that meets a busy
    database (or a PostgreSQL serialisation failure) is rolled back and run again, whole,
    after a jittered backoff, until `deadline_s` (default db_lock.WRITE_DEADLINE_S)."""

    def attempt() -> T:
        with session_scope(url, write=write) as session:
            return fn(session)

    return retry_on_lock(attempt, deadline_s=deadline_s, what=what or _name(fn))


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)
