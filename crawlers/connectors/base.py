"""The plug-in point for sources: a `SourceConnector` turns one Source into fetched items.

Built-ins are registered by name (= `Source.kind`); later issues add site, facebook, youtube
and forum connectors the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from core.models import Source
from core.registry import Registry
from core.settings import Settings


@dataclass
class FetchedItem:
    """One item as a connector found it, before normalisation and storage."""

    url: str | None
    title: str = ""
    lead: str = ""
    body: str = ""
    author: str | None = None
    # Timezone-aware UTC, or None when the source gave no usable date.
    published_at: datetime | None = None
    # The source's own id (RSS guid, post id); identifies items that have no URL.
    native_id: str | None = None
    kind: str = "article"
    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # The article page's own canonical URL when it differs from `url` (an RSS link read
    # through its page): it names the document, so RSS and site crawls meet.
    canonical_url: str | None = None


@dataclass
class CrawlOutput:
    """What one poll of a source produced."""

    items: list[FetchedItem] = field(default_factory=list)
    # Conditional-GET state to store on the Source for the next poll.
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    # Per-item problems (an item skipped, a date replaced); the poll itself succeeded.
    errors: list[str] = field(default_factory=list)


@runtime_checkable
class SourceConnector(Protocol):
    """Fetches one source; raises crawlers.http.FetchError when the source as a whole fails."""

    kind: str

    def fetch(self, source: Source, settings: Settings) -> CrawlOutput: ...


ConnectorFactory = Callable[[], SourceConnector]

# Importing a built-in module registers it; only the kinds in use get imported.
CONNECTORS: Registry[ConnectorFactory] = Registry(
    "connector for source kind",
    {
        "rss": "crawlers.connectors.rss",
        "facebook": "crawlers.connectors.facebook",
        "youtube": "crawlers.connectors.youtube",
        "forum": "crawlers.connectors.forum",
        "site": "crawlers.connectors.site",
    },
)


def register_connector(kind: str, cls: ConnectorFactory) -> ConnectorFactory:
    """Register a connector class (or any zero-argument factory) for a Source.kind."""
    return CONNECTORS.register(kind, cls)


def get_connector(kind: str) -> SourceConnector:
    """A new connector for `kind`; raises KeyError when none is registered."""
    return CONNECTORS.get(kind)()


def registered_kinds() -> list[str]:
    """The source kinds that have a connector."""
    return CONNECTORS.names()
