"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SearchDep, SessionDep, SettingsDep
from api.schemas import HealthOut
from core.search.indexer import pending_count

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def healthz(session: SessionDep, search: SearchDep, settings: SettingsDep) -> JSONResponse:
    """Database and search backend reachability; 503 when either is down."""
    try:
        session.execute(text("SELECT 1"))
        db_ok, pending = True, pending_count(session)
    except Exception:
        db_ok, pending = False, None
    search_ok = search.ping()
    body = HealthOut(
        status="ok" if db_ok and search_ok else "degraded",
        database=db_ok,
        search=search_ok,
        search_backend=settings.search_backend,
        documents_pending_index=pending,
    )
    return JSONResponse(body.model_dump(), status_code=200 if db_ok and search_ok else 503)
