"""Telling a database error worth retrying (busy, locked, connection lost) from a bug."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, OperationalError

_BUSY_MARKERS = (
    # SQLite: another connection holds the write lock past the busy timeout.
    "database is locked",
    "database is busy",
    "database table is locked",
    # SQLite: the disk is full or the file cannot be written (health reports the cause).
    "database or disk is full",
    "disk i/o error",
    "readonly database",
    # PostgreSQL: a server restart or failover, or a lock/statement timeout.
    "could not connect",
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "lock timeout",
    "statement timeout",
)


def is_database_busy(exc: BaseException) -> bool:
    """True for a lock/busy error (SQLite) or a lost connection / lock timeout (PostgreSQL):
    errors that a later try of the same work can get past. Not a missing table or bad SQL,
    which stay 500s: retrying cannot help them."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, sqlite3.OperationalError)):
        return False
    return any(m in str(exc).lower() for m in _BUSY_MARKERS)
