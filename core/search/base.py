"""The `SearchBackend` protocol, the query and result types, and the backend registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import Field

from core.geo.data import admin_map
from core.registry import Registry

# "place": the 2025 provinces and communes a document is about (codes of core.geo.data).
FACET_FIELDS = ("source", "topic", "sentiment", "risk", "unit", "place")
MAX_PAGE_SIZE = 100
# Deep paging costs grow with the offset on every backend (ES refuses past 10,000 by default).
MAX_RESULT_WINDOW = 10_000


class QuerySyntaxError(ValueError):
    """The query cannot be searched; the message is shown to the user (Vietnamese)."""


@dataclass(slots=True)
class IndexDoc:
    """What a backend indexes for one document (built from the database by the indexer)."""

    id: str
    title: str
    body: str
    published_at: datetime | None = None
    source_id: int | None = None
    source_name: str = ""
    url: str | None = None
    lead: str = ""
    topics: list[str] = field(default_factory=list)
    sentiment: str | None = None
    risk: str | None = None
    units: list[int] = field(default_factory=list)
    story_id: int | None = None
    places: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SearchQuery:
    """One search: text query in the search syntax, filters, sort, page, extras."""

    q: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    sources: list[int] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    sentiments: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    sort: Literal["relevance", "time"] = "relevance"
    page: int = 1
    size: int = 20
    facets: bool = False
    histogram: Literal["day", "week", "month"] | None = None
    highlight: bool = True

    def validate(self) -> None:
        """Raise QuerySyntaxError for values no backend can serve."""
        if self.size < 1 or self.size > MAX_PAGE_SIZE:
            raise QuerySyntaxError(f"Số kết quả mỗi trang phải từ 1 đến {MAX_PAGE_SIZE}.")
        if self.page < 1:
            raise QuerySyntaxError("Số trang phải từ 1 trở lên.")
        if self.page * self.size > MAX_RESULT_WINDOW:
            raise QuerySyntaxError(
                f"Chỉ xem được {MAX_RESULT_WINDOW} kết quả đầu tiên; hãy thu hẹp bộ lọc."
            )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise QuerySyntaxError("Ngày bắt đầu phải trước ngày kết thúc.")


@dataclass(slots=True)
class Hit:
    id: str
    title: str
    url: str | None
    source_id: int | None
    source_name: str
    published_at: datetime | None
    topics: list[str]
    sentiment: str | None
    risk: str | None
    units: list[int]
    score: float
    # The descriptions are the API's (api/schemas.py serves hits as they are).
    title_html: Annotated[
        str, Field(description="Title, HTML-escaped, query terms wrapped in <mark>")
    ] = ""
    snippet_html: Annotated[
        str, Field(description="Text excerpt, HTML-escaped, terms in <mark>")
    ] = ""
    places: Annotated[
        list[str], Field(description="Địa bàn: 2025 province (2 digits) and commune codes")
    ] = field(default_factory=list)


@dataclass(slots=True)
class Bucket:
    value: str
    count: int
    label: str | None = None


@dataclass(slots=True)
class SearchResult:
    total: int
    hits: list[Hit]
    page: int
    size: int
    facets: dict[str, list[Bucket]] = field(default_factory=dict)
    histogram: list[Bucket] = field(default_factory=list)
    took_ms: float = 0.0


def place_label(code: str) -> str:
    """ "Quảng Ngãi" for a province code, "Xã Tu Mơ Rông (Quảng Ngãi)" for a commune code."""
    amap = admin_map()
    if code in amap.provinces:
        return amap.provinces[code].short
    commune = amap.communes.get(code)
    if commune is None:
        return code
    return f"{commune.name} ({amap.provinces[commune.province].short})"


def label_places(buckets: list[Bucket]) -> list[Bucket]:
    """The "place" facet's buckets with their names (every backend stores codes only)."""
    for b in buckets:
        b.label = place_label(b.value)
    return buckets


@runtime_checkable
class SearchBackend(Protocol):
    """A search index that can always be rebuilt from the database."""

    name: str

    def setup(self) -> None:
        """Create the index structures if missing (idempotent)."""

    def index(self, docs: Sequence[IndexDoc]) -> None:
        """Insert or replace these documents."""

    def delete(self, ids: Sequence[str]) -> None:
        """Remove these documents; unknown ids are ignored."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Run one search; raises QuerySyntaxError for a query that cannot be searched."""
        ...

    def count(self) -> int:
        """How many documents the index holds."""
        ...

    def clear(self) -> None:
        """Remove every document (used before a full reindex)."""

    def refresh(self) -> None:
        """Make everything indexed so far visible to search."""

    def ping(self) -> bool:
        """True when the backend answers."""
        ...


# Importing a backend module registers it; only the configured one is ever imported (the
# Elasticsearch client is not loaded by an embedded install).
BACKENDS: Registry[Callable[..., SearchBackend]] = Registry(
    "search backend",
    {"sqlite": "core.search.sqlite_fts", "elasticsearch": "core.search.elastic"},
)


def register_backend(name: str, factory: Callable[..., SearchBackend]) -> None:
    """Register a backend factory under a settings name."""
    BACKENDS.register(name, factory)


def backend_names() -> list[str]:
    """The backend names settings may choose."""
    return BACKENDS.names()


def create_backend(name: str, **kwargs: Any) -> SearchBackend:
    """Build the backend registered as `name`."""
    try:
        factory = BACKENDS.get(name)
    except KeyError:
        raise ValueError(
            f"unknown search backend {name!r}; known: {', '.join(backend_names())}"
        ) from None
    return factory(**kwargs)
