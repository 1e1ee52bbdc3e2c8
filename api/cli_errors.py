"""What the `diemtin` command does when the database is busy or the data directory cannot be
written: it waits and retries for a bounded time, then says so in one Vietnamese sentence and
exits non-zero; never a traceback."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import typer

from api.busy import BUSY_MESSAGE, is_database_busy
from core.db import alembic_config, get_engine, lock_deadline, migrate
from core.settings import get_settings

log = logging.getLogger("diemtin.cli")
T = TypeVar("T")
# sysexits.h EX_TEMPFAIL: "try again later", which scripts can tell from a usage error (2).
EXIT_BUSY = 75
EXIT_DATA_DIR = 73  # EX_CANTCREAT
_DATA_DIR_MARKERS = (
    "unable to open database file",
    "readonly database",
    "read-only file system",
    "database or disk is full",
    "disk i/o error",
)


def data_dir_message(data_dir: object) -> str:
    """The one sentence shown when the data directory is missing or cannot be written."""
    return (
        f"Không ghi được vào thư mục dữ liệu {data_dir}: thư mục không tạo được, chỉ cho đọc "
        "hoặc đã đầy; hãy kiểm tra DIEMTIN_DATA_DIR và quyền ghi rồi chạy lại."
    )


def is_data_dir_error(exc: BaseException) -> bool:
    """True when the data directory (or the disk under it) is what failed."""
    if isinstance(exc, (PermissionError, NotADirectoryError, FileNotFoundError)):
        return True
    if isinstance(exc, OSError) and exc.errno in (28, 30):  # ENOSPC, EROFS
        return True
    return any(m in str(exc).lower() for m in _DATA_DIR_MARKERS)


def ensure_schema() -> None:
    """Migrate only when the schema is behind: the check reads without SQLite's write lock, so
    a read-only command does not queue behind a long writer just to find nothing to do."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    engine = get_engine(get_settings().db_url).execution_options(read_only=True)
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != set(ScriptDirectory.from_config(alembic_config()).get_heads()):
        migrate()


def run_with_retries(call: Callable[[], T], *, wait_s: float, data_dir: object) -> T:
    """Run a CLI command; a busy database is waited for and retried for `wait_s` in all, then
    reported in one sentence (exit 75). A data directory that cannot be written is reported
    at once (exit 73). Every command's database work rolls back on error (session_scope),
    so a retry repeats nothing that was stored."""
    deadline = time.monotonic() + wait_s
    delay = 0.5
    attempt = 1
    while True:
        try:
            # Writers wait for the lock in core.db_lock's logged backoff, up to our deadline;
            # this loop catches what that cannot (a busy COMMIT, a PostgreSQL restart).
            with lock_deadline(max(0.0, deadline - time.monotonic())):
                return call()
        except typer.Exit:
            raise
        except Exception as exc:
            if is_database_busy(exc) and not is_data_dir_error(exc):
                left = deadline - time.monotonic()
                if left > delay:
                    log.warning(
                        "database busy (try %d); retrying in %.1f s (%.0f s left)",
                        attempt, delay, left,
                    )  # fmt: skip
                    time.sleep(delay)
                    delay = min(delay * 2, 8.0)
                    attempt += 1
                    continue
                log.debug("gave up after %d tries", attempt, exc_info=True)
                typer.echo(BUSY_MESSAGE, err=True)
                sys.exit(EXIT_BUSY)
            if is_data_dir_error(exc):
                log.debug("data directory unusable", exc_info=True)
                typer.echo(data_dir_message(data_dir), err=True)
                sys.exit(EXIT_DATA_DIR)
            raise
