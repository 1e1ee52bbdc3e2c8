"""/docs (Swagger UI), /redoc and /favicon.ico, served from this machine.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and stay blank offline (issue 18);
the same pages here point at the copies the fastapi-offline package ships, mounted under
/docs/static, so an office network without internet still reads the API's documentation."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api.favicon import ico

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs/static"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
FAVICON_URL = "/favicon.ico"

router = APIRouter(include_in_schema=False)


def mount(app: FastAPI) -> None:
    """Serve the pages and their assets (call with FastAPI(docs_url=None, redoc_url=None))."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-static")
    app.include_router(router)


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "") + (request.app.openapi_url or "/openapi.json")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} – Swagger UI",
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=root + FAVICON_URL,
    )


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} – ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=root + FAVICON_URL,
        with_google_fonts=False,
    )


@router.get(FAVICON_URL)
def favicon() -> Response:
    # A day in the browser's cache: the icon changes only with a release.
    return Response(ico(), media_type="image/x-icon", headers={"cache-control": "max-age=86400"})
