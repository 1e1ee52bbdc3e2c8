"""/docs and /redoc with no network (issue 18: they were blank offline, loading a CDN).

Every request leaving 127.0.0.1 is refused and recorded; the pages must still show the API's
operations, and the security policy must refuse nothing they load."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.e2e.conftest import shot


def _offline(page: Any) -> tuple[list[str], list[str]]:
    """Refuse every request that is not to 127.0.0.1; return (refused URLs, CSP complaints)."""
    refused: list[str] = []
    complaints: list[str] = []

    def route(r: Any) -> None:
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    page.on(
        "console",
        lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return refused, complaints


def test_swagger_ui_lists_the_operations_offline(server: str, page: Any) -> None:
    refused, complaints = _offline(page)
    page.goto(server + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/search" in [p.replace("\u200b", "") for p in paths]
    shot(page, "docs-offline-swagger")
    assert refused == [] and complaints == []


def test_redoc_renders_offline(server: str, page: Any) -> None:
    refused, complaints = _offline(page)
    page.goto(server + "/redoc")
    page.wait_for_selector("h1", timeout=30_000)
    page.wait_for_function("document.body.innerText.includes('/api/v1/search')", timeout=30_000)
    assert "diemtin API" in page.locator("h1").first.inner_text()
    shot(page, "docs-offline-redoc")
    # ReDoc's footer logo points at cdn.redoc.ly: the policy refusing it is the point
    assert refused == [] and [c for c in complaints if "cdn.redoc.ly" not in c] == []


def test_the_site_icon_answers(server: str, page: Any) -> None:
    # the browser asks /favicon.ico on its own; it is our drawn icon, not a 404
    response = page.goto(server + "/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] == "image/x-icon"
    body = response.body()
    assert body[:4] == b"\x00\x00\x01\x00" and b"\x89PNG" in body
