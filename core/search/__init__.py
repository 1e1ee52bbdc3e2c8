"""Search backends behind one protocol; settings choose which one runs."""

from __future__ import annotations

from functools import lru_cache

from core.search.base import (
    IndexDoc,
    QuerySyntaxError,
    SearchBackend,
    SearchQuery,
    SearchResult,
    create_backend,
)
from core.settings import Settings, get_settings

__all__ = [
    "IndexDoc",
    "QuerySyntaxError",
    "SearchBackend",
    "SearchQuery",
    "SearchResult",
    "get_backend",
]


@lru_cache(maxsize=4)
def _backend(name: str, db_url: str, es_url: str, timezone: str) -> SearchBackend:
    if name == "sqlite":
        return create_backend(name, url=db_url, timezone=timezone)
    if name == "elasticsearch":
        return create_backend(name, url=es_url, timezone=timezone)
    return create_backend(name)


def get_backend(settings: Settings | None = None) -> SearchBackend:
    """The configured search backend, one instance per process."""
    s = settings or get_settings()
    return _backend(s.search.backend, s.search_sqlite_url, s.search.elasticsearch_url, s.timezone)
