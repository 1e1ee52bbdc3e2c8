"""The one Jinja environment for every page: filters, and the values each page needs
(`csrf_token`, `principal`) supplied by a context processor."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates


def _localtime(value: datetime | None, tz: str = "Asia/Ho_Chi_Minh") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")


def safe_url(value: str | None) -> str:
    """The URL when it is an http(s) link, else "#": scraped javascript:/data: links die here."""
    return value if value and urlsplit(value).scheme in ("http", "https") else "#"


def _page_context(request: Request) -> dict[str, Any]:
    # Forms embed csrf_token; JS reads it from <meta name="csrf-token"> in base.html.
    return {
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "principal": getattr(request.state, "principal", None),
    }


TEMPLATES = Jinja2Templates(
    directory=Path(__file__).resolve().parent / "templates", context_processors=[_page_context]
)
TEMPLATES.env.filters["localtime"] = _localtime
TEMPLATES.env.filters["safe_url"] = safe_url
