"""Liveness and readiness, with a real write probe: a full disk or a read-only database let
every read succeed (and /healthz said "ok") while every write failed."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SearchDep, SettingsDep
from api.schemas import HealthOut
from core.db import lock_deadline, new_session, session_scope
from core.models import HealthProbe, utcnow
from core.search.indexer import pending_count
from core.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
# One filesystem block: on a full disk even this needs space that is not there.
PROBE_BYTES = 4096
# A probe waits this long for the write lock; longer means the database is too busy to
# take writes now, which is what a monitor should hear.
PROBE_LOCK_S = 2.0
# Monitors poll often; one probe per this many seconds (per process) is enough.
PROBE_EVERY_S = 2.0
_last: dict[str, tuple[float, list[str]]] = {}
_probe_lock = threading.Lock()


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (getattr(orig, "strerror", None) or str(orig)).splitlines()[0][:160]


def probe_disk(data_dir: Path) -> str | None:
    """Write, fsync and remove a small file in the data directory; the error, or None."""
    path = data_dir / f".health-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"disk: {_short(exc)} ({data_dir})"
    finally:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    return None


def probe_database(settings: Settings) -> str | None:
    """Rewrite the health_probe row (a real write transaction); the error, or None."""
    try:
        with lock_deadline(PROBE_LOCK_S), session_scope(settings.db_url) as session:
            session.merge(HealthProbe(id=1, written_at=utcnow()))
    except Exception as exc:
        return f"database write: {_short(exc)}"
    return None


def write_problems(settings: Settings) -> list[str]:
    """Why the service cannot store anything now (empty when it can); cached briefly."""
    with _probe_lock:
        at, problems = _last.get(settings.db_url, (-PROBE_EVERY_S, []))
        if time.monotonic() - at < PROBE_EVERY_S:
            return problems
        problems = [
            p
            for p in (
                probe_disk(settings.data_dir) if settings.db_url.startswith("sqlite") else None,
                probe_database(settings),
            )
            if p
        ]
        if problems:
            log.warning("health: cannot write: %s", "; ".join(problems))
        _last[settings.db_url] = (time.monotonic(), problems)
        return problems


@router.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def healthz(search: SearchDep, settings: SettingsDep) -> JSONResponse:
    """Database (read and write), disk and search backend; 503 and the reasons when any is
    down."""
    reasons: list[str] = []
    try:
        with new_session(settings.db_url, read_only=True) as session:
            session.execute(text("SELECT 1"))
            db_ok, pending = True, pending_count(session)
    except Exception as exc:
        db_ok, pending = False, None
        reasons.append(f"database read: {_short(exc)}")
    problems = write_problems(settings) if db_ok else []
    reasons += problems
    search_ok = search.ping()
    if not search_ok:
        reasons.append(f"search backend {settings.search.backend} unreachable")
    healthy = db_ok and search_ok and not problems
    body = HealthOut(
        status="ok" if healthy else "degraded",
        database=db_ok,
        search=search_ok,
        search_backend=settings.search.backend,
        documents_pending_index=pending,
        writable=db_ok and not problems,
        reasons=reasons,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
