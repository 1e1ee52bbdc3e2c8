"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api.routes import classify, health, labels, search, tipline, web
from core.search import SearchQuery, get_backend
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: JSON API under /api/v1, /healthz, the web pages, OpenAPI at /docs."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            backend = get_backend(settings)
            backend.setup()
            # Warm the search backend's caches so the first user search is not the slow one.
            backend.search(SearchQuery(size=1))
        except Exception:
            # The app still serves; /healthz reports the search backend as down.
            log.exception("search backend setup failed")
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="diemtin API",
        version="0.1.0",
        description="Theo dõi báo chí và mạng xã hội về giáo dục cho Sở GDĐT.",
    )
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(tipline.router)
    app.include_router(classify.router)
    app.include_router(labels.router)
    app.include_router(web.router)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(
            status_code=422,
            content={
                "detail": f"Tham số không hợp lệ ({where}): {first.get('msg', '')}",
                "errors": jsonable_errors(exc),
            },
        )

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})

    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """Validation errors without the raw input (which may be huge or binary)."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
