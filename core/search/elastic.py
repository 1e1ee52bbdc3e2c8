"""The scaled search backend: Elasticsearch 8 through the official client.

Layout: the composable template `<prefix>-docs` covers `<prefix>-docs-*`; the alias
`<prefix>-docs` spans all those indices and marks the newest as its write index
(`<prefix>-docs-000001`, then `-000002`, ... after each rollover). Searches and counts go
through the alias.

A document lives in exactly one index. Before a batch is written its ids are looked up in the
older (non-write) indices: a document found there is rewritten in place, in that index; every
other one goes to the current write index. Re-indexing an old article therefore never leaves a
second copy behind, and no delete has to catch up with it. Routing by month of publication was
rejected: a corrected publish time would move a document to another index and duplicate it, and
a small province would get hundreds of tiny indices."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from html import unescape
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from core.search.base import (
    FACET_FIELDS,
    Bucket,
    Hit,
    IndexDoc,
    SearchQuery,
    SearchResult,
    label_places,
    register_backend,
)
from core.search.elastic_query import MAPPINGS, NEW_FIELDS, index_settings, search_request
from core.search.highlight import highlight_all, snippet
from core.search.query import Term, parse, positive_terms

log = logging.getLogger(__name__)

# Elastic's sizing advice is 10-50 GB a shard; a year per index also lets old years be dropped
# or moved to cheaper nodes as whole indices.
ROLLOVER_CONDITIONS = {"max_primary_shard_size": "30gb", "max_age": "365d"}
ROLLOVER_CHECK_S = 600.0
BULK_CHUNK = 500
# Retries of documents the cluster rejected as overloaded (429), with backoff.
BULK_RETRIES = 3
LOOKUP_CHUNK = 1000
# Above the built-in templates (100), so a broad pattern of theirs never wins over ours.
TEMPLATE_PRIORITY = 200
_MARK_RE = re.compile(r"</?mark>")
T = TypeVar("T")


class IndexingError(RuntimeError):
    """Some documents were not written; the indexer keeps the batch pending and retries it."""


def _source(doc: IndexDoc, tz: ZoneInfo) -> dict[str, Any]:
    published = day = None
    if doc.published_at is not None:
        if doc.published_at.tzinfo is None:
            raise ValueError("naive datetime; use timezone-aware datetimes")
        # The date type keeps milliseconds; finer digits would be dropped silently (or refused).
        published = doc.published_at.astimezone(UTC).isoformat(timespec="milliseconds")
        day = doc.published_at.astimezone(tz).date().isoformat()
    return {
        "doc_id": doc.id,
        "title": doc.title,
        "lead": doc.lead,
        "body": doc.body,
        "published": published,
        "day": day,
        "source_id": doc.source_id,
        "source_name": doc.source_name,
        "url": doc.url,
        "topics": list(doc.topics),
        "sentiment": doc.sentiment,
        "risk": doc.risk,
        "units": [int(u) for u in doc.units],
        "places": list(doc.places),
        "story_id": doc.story_id,
    }


def _snippet(hl: dict[str, list[str]], lead: str, body: str, terms: list[Term]) -> str:
    """Elasticsearch's best fragment of lead or body, with "…" where text was cut."""
    text = f"{lead} {body}".strip().replace("\n", " ")
    for field in ("lead", "body"):
        if hl.get(field):
            fragment = hl[field][0].replace("\n", " ")
            plain = unescape(_MARK_RE.sub("", fragment))
            pos = text.find(plain)
            cut_after = pos < 0 or pos + len(plain) < len(text)
            return ("…" if pos != 0 else "") + fragment + ("…" if cut_after else "")
    # Matches only in the title, or none to mark: the start of the text, as SQLite shows it.
    return snippet(text, terms)


class ElasticBackend:
    """SearchBackend on Elasticsearch 8: one alias over rolled-over indices."""

    name = "elasticsearch"

    def __init__(
        self,
        url: str = "http://127.0.0.1:9200",
        timezone: str = "Asia/Ho_Chi_Minh",
        *,
        prefix: str = "diemtin",
        client: Elasticsearch | None = None,
        request_timeout: float = 30.0,
    ):
        # Connection errors and 502-504 are retried on another node; a timed-out search is not
        # (resending it to a struggling cluster only adds load while the user waits).
        self.es = client or Elasticsearch(url, request_timeout=request_timeout, max_retries=3)
        self.tz = ZoneInfo(timezone)
        self.prefix = prefix
        self.alias = f"{prefix}-docs"
        self.pattern = f"{prefix}-docs-*"
        self._ready = False
        self._next_rollover_check = 0.0

    # -- structure -----------------------------------------------------------------------

    def _has_icu(self) -> bool:
        """True when every node has the analysis-icu plugin (any failure: False)."""
        try:
            nodes = self.es.nodes.info(metric="plugins")["nodes"]
        except (ApiError, TransportError):
            return False  # e.g. a user without the monitor privilege: plain folding is fine
        return bool(nodes) and all(
            any(p.get("name") == "analysis-icu" for p in node.get("plugins", []))
            for node in nodes.values()
        )

    def setup(self) -> None:
        if self._ready:
            return
        # Templates apply to new indices only; `reindex` (clear + rebuild) brings a new mapping.
        self.es.indices.put_index_template(
            name=self.alias,
            index_patterns=[self.pattern],
            priority=TEMPLATE_PRIORITY,
            template={"settings": index_settings(icu=self._has_icu()), "mappings": MAPPINGS},
            meta={"managed_by": "diemtin"},
        )
        if not self.es.indices.exists_alias(name=self.alias):
            try:
                self.es.indices.create(
                    index=f"{self.alias}-000001", aliases={self.alias: {"is_write_index": True}}
                )
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
                # Another process created it, or a write landed during a clear() elsewhere and
                # auto-created an index without the alias: the newest index takes the alias.
                if not self.es.indices.exists_alias(name=self.alias):
                    newest = max(self._indices())
                    self.es.indices.update_aliases(
                        actions=[
                            {"add": {"index": newest, "alias": self.alias, "is_write_index": True}}
                        ]
                    )
        # An index made before a field existed gets it (adding a field is always allowed;
        # "dynamic": "strict" would refuse the documents otherwise).
        self.es.indices.put_mapping(index=self.alias, properties=NEW_FIELDS)
        self._ready = True

    def _indices(self) -> list[str]:
        """Every index of this prefix, in or out of the alias."""
        return sorted(self.es.indices.get(index=self.pattern, features="aliases"))

    def _retry_missing(self, call: Callable[[], T]) -> T:
        """Run call; if the indices vanished (a clear elsewhere), recreate them and run it again."""
        self.setup()
        try:
            return call()
        except NotFoundError:
            self._ready = False
            self.setup()
            return call()

    def rollover(self, *, force: bool = False) -> bool:
        """Start a new write index when the current one is big or old enough (now, with force)."""
        resp = self.es.indices.rollover(
            alias=self.alias, conditions=None if force else ROLLOVER_CONDITIONS
        )
        if not resp.get("rolled_over"):
            return False
        # Documents are found in older indices by search: the last writes to the old index must
        # be visible before the next batch is routed.
        self.es.indices.refresh(index=resp["old_index"])
        log.info("search index rolled over to %s", resp["new_index"])
        return True

    def _maybe_rollover(self) -> None:
        # A conditional rollover is cheap but not free; a few checks an hour are plenty.
        now = time.monotonic()
        if now < self._next_rollover_check:
            return
        self._next_rollover_check = now + ROLLOVER_CHECK_S
        try:
            self.rollover()
        except ApiError as exc:  # a failed check must not stop indexing
            log.warning("search index rollover check failed: %s", exc)

    def _route(self, ids: list[str]) -> tuple[str, dict[str, str]]:
        """The write index, and the older index holding each of these ids that has one."""
        aliases = self.es.indices.get_alias(name=self.alias)
        write = [i for i, a in aliases.items() if a["aliases"][self.alias].get("is_write_index")]
        if not write and len(aliases) == 1:
            write = list(aliases)  # an alias on one index writes there without the flag
        if len(write) != 1:
            raise IndexingError(f"alias {self.alias} has no write index")
        older = ",".join(sorted(set(aliases) - set(write)))
        found: dict[str, str] = {}
        for start in range(0, len(ids) if older else 0, LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            resp = self.es.search(
                index=older,
                query={"ids": {"values": chunk}},
                source=False,
                size=len(chunk),
                ignore_unavailable=True,  # an old index dropped meanwhile
            )
            found.update((h["_id"], h["_index"]) for h in resp["hits"]["hits"])
        return write[0], found

    # -- writing -------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict[str, Any]], n: int) -> None:
        """Send actions in chunks; raise IndexingError if any document failed for good."""
        failed: list[dict[str, Any]] = []
        for _, item in streaming_bulk(
            self.es,
            actions,
            chunk_size=BULK_CHUNK,
            max_retries=BULK_RETRIES,
            initial_backoff=1,
            max_backoff=30,
            raise_on_error=False,
            yield_ok=False,
        ):
            ((op, info),) = item.items()
            if not (op == "delete" and info.get("status") == 404):  # already gone is fine
                failed.append(info)
        if failed:
            error = failed[0].get("error") or {}
            reason = error.get("reason", error) if isinstance(error, dict) else error
            raise IndexingError(
                f"{len(failed)} of {n} documents were not written; "
                f"first: {failed[0].get('_id')}: {reason}"
            )

    def index(self, docs: Sequence[IndexDoc]) -> None:
        if not docs:
            return
        # The last version of a document given twice in one batch wins.
        sources = {d.id: _source(d, self.tz) for d in docs}
        self.setup()
        self._maybe_rollover()
        write, found = self._retry_missing(lambda: self._route(list(sources)))
        self._bulk(
            (
                {"_op_type": "index", "_index": found.get(i, write), "_id": i, "_source": s}
                for i, s in sources.items()
            ),
            len(sources),
        )

    def delete(self, ids: Sequence[str]) -> None:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return
        write, found = self._retry_missing(lambda: self._route(unique))
        self._bulk(
            ({"_op_type": "delete", "_index": found.get(i, write), "_id": i} for i in unique),
            len(unique),
        )

    def clear(self) -> None:
        self._drop_indices()
        self._ready = False
        self.setup()

    def _drop_indices(self) -> None:
        # By name: Elasticsearch 8 refuses wildcard deletes (action.destructive_requires_name).
        names = self._indices()
        for start in range(0, len(names), 50):
            self.es.indices.delete(index=",".join(names[start : start + 50]))

    def drop(self) -> None:
        """Delete this prefix's indices and template (tests, decommissioning)."""
        self._drop_indices()
        self.es.options(ignore_status=404).indices.delete_index_template(name=self.alias)
        self._ready = False

    def refresh(self) -> None:
        self._retry_missing(lambda: self.es.indices.refresh(index=self.alias))

    def count(self) -> int:
        return int(self._retry_missing(lambda: self.es.count(index=self.alias))["count"])

    def ping(self) -> bool:
        try:
            return bool(self.es.options(request_timeout=5, max_retries=0).ping())
        except (ApiError, TransportError):
            return False

    # -- searching -----------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        query.validate()
        node = parse(query.q)
        terms = positive_terms(node)
        # Nothing to mark in an empty query or a pure exclusion: skip the highlighter.
        highlight = query.highlight and bool(terms)
        request = search_request(query, node, highlight=highlight)
        resp = self._retry_missing(lambda: self.es.search(index=self.alias, **request))
        result = SearchResult(
            total=int(resp["hits"]["total"]["value"]),
            hits=[self._hit(raw, terms, query.highlight) for raw in resp["hits"]["hits"]],
            page=query.page,
            size=query.size,
        )
        aggs = resp.get("aggregations", {})
        if query.facets:
            result.facets = {field: self._buckets(aggs[field]) for field in FACET_FIELDS}
            label_places(result.facets["place"])
        if query.histogram:
            result.histogram = [
                Bucket(b["key_as_string"], int(b["doc_count"]))
                for b in aggs["histogram"]["buckets"]
                if b["doc_count"]
            ]
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    @staticmethod
    def _buckets(agg: dict[str, Any]) -> list[Bucket]:
        out = []
        for b in agg["buckets"]:
            labels = b.get("label", {}).get("buckets", [])
            out.append(
                Bucket(str(b["key"]), int(b["doc_count"]), labels[0]["key"] if labels else None)
            )
        return out

    @staticmethod
    def _hit(raw: dict[str, Any], terms: list[Term], highlight: bool) -> Hit:
        src = raw["_source"]
        published = src.get("published")
        hit = Hit(
            id=raw["_id"],
            title=src.get("title") or "",
            url=src.get("url"),
            source_id=src.get("source_id"),
            source_name=src.get("source_name") or "",
            published_at=datetime.fromisoformat(published) if published else None,
            topics=list(src.get("topics") or []),
            sentiment=src.get("sentiment"),
            risk=src.get("risk"),
            units=list(src.get("units") or []),
            places=list(src.get("places") or []),
            # Sorted by time, Elasticsearch does not score (null), like SQLite's zeros.
            score=float(raw.get("_score") or 0.0),
        )
        if highlight:
            hl = raw.get("highlight", {})
            hit.title_html = hl["title"][0] if hl.get("title") else highlight_all(hit.title, terms)
            hit.snippet_html = _snippet(hl, src.get("lead") or "", src.get("body") or "", terms)
        return hit


register_backend("elasticsearch", ElasticBackend)
