"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.body_limits import BodyLimitMiddleware
from api.busy import BusyDatabaseMiddleware
from api.csrf import CSRFMiddleware
from api.deps import NotAuthenticated
from api.nul_guard import NulGuardMiddleware
from api.routes import (
    account_api,
    account_pages,
    admin_api,
    admin_pages,
    case_pages,
    cases,
    classify,
    dashboard,
    docs,
    health,
    labels,
    province_api,
    reports,
    search_api,
    search_pages,
    search_tools,
    tipline,
)
from api.security_headers import SecurityHeadersMiddleware
from api.templating import TEMPLATES
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
        # Served by api.routes.docs from local copies: FastAPI's own load a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    docs.mount(app)
    app.include_router(health.router)
    app.include_router(search_api.router)
    app.include_router(tipline.router)
    app.include_router(classify.router)
    app.include_router(labels.router)
    app.include_router(search_pages.router)
    app.include_router(search_tools.router)
    app.include_router(dashboard.router)
    app.include_router(reports.router)
    app.include_router(admin_api.router)
    app.include_router(province_api.router)
    app.include_router(admin_pages.router)
    app.include_router(account_api.router)
    app.include_router(account_pages.router)
    app.include_router(cases.router)
    app.include_router(case_pages.router)
    # Inside the gate: refuses U+0000 in any input before a route reads it.
    app.add_middleware(NulGuardMiddleware)
    # The gate: anonymous writes refused and CSRF checked before any body is read.
    app.add_middleware(CSRFMiddleware, db_url=settings.db_url, public_url=settings.web.public_url)
    # Body caps by route kind (413), before the gate or anything else reads a body.
    app.add_middleware(BodyLimitMiddleware)
    # Around everything: a busy database is a 503 + Retry-After, never a 500, wherever it is met.
    app.add_middleware(BusyDatabaseMiddleware, deadline_s=settings.db.web_lock_deadline_s)
    # On every answer, the 503s and 413s above included.
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)

    @app.exception_handler(NotAuthenticated)
    async def _anonymous(request: Request, exc: NotAuthenticated) -> Response:
        if wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/dang-nhap?{urlencode({'next': target})}", status_code=303)
        return JSONResponse(
            status_code=401, content={"detail": str(exc)}, headers={"WWW-Authenticate": "Bearer"}
        )

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
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if wants_html(request) and exc.status_code in (403, 404, 409):
            return TEMPLATES.TemplateResponse(
                request, "error.html", {"message": exc.detail}, status_code=exc.status_code
            )
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
        )

    return app


def wants_html(request: Request) -> bool:
    """True for a browser asking for a page (not the JSON API)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """Validation errors without the raw input (which may be huge or binary)."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
