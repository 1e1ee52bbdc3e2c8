"""What the Elasticsearch backend sends: the index template and the search request.

User text never reaches Elasticsearch's own query syntax (no query_string): the parsed tree of
core.search.query is translated node by node into match, match_phrase and prefix queries."""

from __future__ import annotations

from typing import Any

from core.search.base import SearchQuery
from core.search.query import And, Node, Not, Or, Phrase, Term
from core.search.ranking import (
    EXACT_TIER,
    PHRASE_TIER,
    TITLE_TIER,
    exact_positive,
    is_exact,
    positive_part,
    proximity_tokens,
)

ANALYZER = "diemtin_vi"
# Lowercase only, diacritics kept: the `<field>.exact` sub-fields (core.search.ranking).
EXACT_ANALYZER = "diemtin_vi_exact"
# A tier's constant score outweighs any BM25 difference (BM25 here stays far below it).
TIER_SCALE = 1000.0
# (field, boost): the title weighs 3x, as in the SQLite backend's bm25 weights.
TEXT_FIELDS = (("title", 3.0), ("lead", 1.0), ("body", 1.0))
FACET_LIMIT = 20
SNIPPET_CHARS = 240
# Like the SQLite backend's MAX_INDEXED_CHARS: highlighting stops there instead of failing on
# a huge body (Elasticsearch refuses to highlight past index.highlight.max_analyzed_offset).
MAX_ANALYZED_CHARS = 100_000
# The facet name in the API -> the indexed field.
FACET_INDEX_FIELDS = {
    "source": "source_id",
    "topic": "topics",
    "sentiment": "sentiment",
    "risk": "risk",
    "unit": "units",
    "place": "places",
}
_KEYWORD = {"type": "keyword", "ignore_above": 256}
# Offsets in the postings let the highlighter skip re-analysing long text. Indices made before
# the `exact` sub-field existed get it from `reindex` (its analyzer is an index setting).
_TEXT = {
    "type": "text",
    "analyzer": ANALYZER,
    "index_options": "offsets",
    "fields": {"exact": {"type": "text", "analyzer": EXACT_ANALYZER}},
}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "doc_id": _KEYWORD,
        "title": _TEXT,
        "lead": _TEXT,
        "body": _TEXT,
        "published": {"type": "date"},
        # The local calendar day, computed at index time as the SQLite backend does: the
        # histogram then follows the local calendar with no time_zone arithmetic per query.
        "day": {"type": "date", "format": "yyyy-MM-dd"},
        "source_id": {"type": "integer"},
        # Lucene rejects terms over 32766 bytes; a longer name is stored but not aggregated.
        "source_name": {"type": "keyword", "ignore_above": 1024},
        "topics": _KEYWORD,
        "sentiment": _KEYWORD,
        "risk": _KEYWORD,
        "units": {"type": "integer"},
        "places": _KEYWORD,
        "story_id": {"type": "integer"},
        "url": {"type": "keyword", "index": False, "doc_values": False},
    },
}


# Fields added after indices existed in production (core.search.elastic.setup adds them).
NEW_FIELDS = {"places": MAPPINGS["properties"]["places"]}


def index_settings(*, icu: bool) -> dict[str, Any]:
    """Index settings with the Vietnamese analyzer (ICU folding when the cluster has it)."""
    # asciifolding maps đ -> d and every toned vowel to its base letter, like core.text.fold;
    # after icu_folding (which also handles decomposed and full-width text) it keeps đ -> d
    # guaranteed whatever the ICU version.
    filters = ["lowercase", "icu_folding", "asciifolding"] if icu else ["lowercase", "asciifolding"]
    return {
        # One shard per index: a province's archive is millions of documents, and rollover
        # starts a new index long before a shard gets slow.
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
        "analysis": {
            "tokenizer": {
                # Splits where core.text.tokens (FTS5 unicode61) splits: the standard tokenizer
                # keeps "1.000", "3.5" and "x_y" whole, and the query parser's tokens ("1", "000")
                # would then never match them.
                "diemtin_words": {
                    "type": "char_group",
                    "tokenize_on_chars": ["whitespace", "punctuation", "symbol"],
                }
            },
            "analyzer": {
                ANALYZER: {"type": "custom", "tokenizer": "diemtin_words", "filter": filters},
                EXACT_ANALYZER: {
                    "type": "custom",
                    "tokenizer": "diemtin_words",
                    "filter": ["lowercase"],
                },
            },
        },
    }


# -- the text query ------------------------------------------------------------------------


def _any_field(clause: Any, suffix: str = "") -> dict[str, Any]:
    """One clause per text field; a document matches when any field does."""
    return {
        "bool": {
            "should": [clause(field + suffix, boost) for field, boost in TEXT_FIELDS],
            "minimum_should_match": 1,
        }
    }


def _leaf(node: Term | Phrase, *, exact: bool = False) -> dict[str, Any]:
    """A word or phrase on every text field; with exact, as spelled, on the `.exact` fields."""
    suffix = ".exact" if exact else ""
    if isinstance(node, Phrase):
        text = " ".join(node.exact if exact else node.tokens)
        return _any_field(lambda f, b: {"match_phrase": {f: {"query": text, "boost": b}}}, suffix)
    token = node.exact if exact else node.token
    if node.prefix:
        # Prefix queries are not analysed; the index holds folded tokens, as node.token is.
        return _any_field(lambda f, b: {"prefix": {f: {"value": token, "boost": b}}}, suffix)
    return _any_field(
        lambda f, b: {"match": {f: {"query": token, "operator": "and", "boost": b}}}, suffix
    )


def to_es(node: Node, *, excluding: bool = False, exact: bool = False) -> dict[str, Any]:
    """Translate a parsed query into Elasticsearch query DSL (tokens are already folded).
    Under a NOT (excluding), a word typed with diacritics excludes only that spelling; with
    exact, every word is compared as spelled (the words typed with diacritics only)."""
    if isinstance(node, Term | Phrase):
        return _leaf(node, exact=exact or excluding and is_exact(node))
    if isinstance(node, And):
        kids = [to_es(c, excluding=excluding, exact=exact) for c in node.children]
        return {"bool": {"must": kids}}
    if isinstance(node, Or):
        kids = [to_es(c, excluding=excluding, exact=exact) for c in node.children]
        return {"bool": {"should": kids, "minimum_should_match": 1}}
    # The words a NOT keeps are sought in every spelling again, as in the SQLite backend.
    positive = {"match_all": {}} if node.positive is None else to_es(node.positive, exact=exact)
    negative = to_es(node.negative, excluding=True, exact=exact)
    return {"bool": {"must": [positive], "must_not": [negative]}}


def _tier(query: dict[str, Any], weight: int) -> dict[str, Any]:
    return {"constant_score": {"filter": query, "boost": weight * TIER_SCALE}}


def tier_clauses(node: Node) -> list[dict[str, Any]]:
    """Should-clauses adding core.search.ranking's tiers to the score: exact spelling, the
    words side by side in typed order, all of them in the title."""
    positive = positive_part(node)
    if positive is None:
        return []
    out = []
    spelled = exact_positive(node)
    if spelled is not None:
        out.append(_tier(to_es(spelled, exact=True), EXACT_TIER))
    words = proximity_tokens(node)
    if words:
        out.append(_tier(_leaf(Phrase(words)), PHRASE_TIER))
    out.append(_tier(_title(positive), TITLE_TIER))
    return out


def _title(node: Node) -> dict[str, Any]:
    """The positive query on the title alone."""
    if isinstance(node, Phrase):
        return {"match_phrase": {"title": " ".join(node.tokens)}}
    if isinstance(node, Term):
        if node.prefix:
            return {"prefix": {"title": {"value": node.token}}}
        return {"match": {"title": {"query": node.token, "operator": "and"}}}
    if isinstance(node, And):
        return {"bool": {"must": [_title(c) for c in node.children]}}
    if isinstance(node, Or):
        return {"bool": {"should": [_title(c) for c in node.children], "minimum_should_match": 1}}
    return {"match_none": {}}


def filters(q: SearchQuery) -> list[dict[str, Any]]:
    """The non-text conditions, as filter clauses (cached by Elasticsearch, never scored)."""
    out: list[dict[str, Any]] = []
    if q.date_from or q.date_to:
        bounds: dict[str, str] = {}
        for key, value in (("gte", q.date_from), ("lte", q.date_to)):
            if value is not None:
                if value.tzinfo is None:
                    raise ValueError("naive datetime; use timezone-aware datetimes")
                bounds[key] = value.isoformat(timespec="milliseconds")
        out.append({"range": {"published": bounds}})
    for field, values in (
        ("source_id", q.sources),
        ("topics", q.topics),
        ("sentiment", q.sentiments),
        ("risk", q.risks),
        ("units", q.units),
        ("places", q.places),
    ):
        if values:
            out.append({"terms": {field: list(values)}})
    return out


def _scores(node: Node | None) -> bool:
    """Whether relevance means anything: an empty query or a pure exclusion scores all alike."""
    return node is not None and not (isinstance(node, Not) and node.positive is None)


def search_request(q: SearchQuery, node: Node | None, *, highlight: bool) -> dict[str, Any]:
    """Keyword arguments for Elasticsearch.search() serving this query."""
    text = matched = to_es(node) if node is not None else {"match_all": {}}
    ranked = q.sort == "relevance" and _scores(node)
    if ranked and node is not None:
        text = {"bool": {"must": [text], "should": tier_clauses(node)}}
    newest = {"published": {"order": "desc", "missing": "_last"}}
    # doc_id breaks ties so pages never overlap (_id has no doc values to sort on).
    sort: list[Any] = [newest, {"doc_id": "asc"}]
    if ranked:
        sort.insert(0, {"_score": "desc"})
    request: dict[str, Any] = {
        "query": {"bool": {"must": [text], "filter": filters(q)}},
        "sort": sort,
        "from_": (q.page - 1) * q.size,
        "size": q.size,
        "track_total_hits": True,
    }
    aggs: dict[str, Any] = {}
    if q.facets:
        for name, field in FACET_INDEX_FIELDS.items():
            aggs[name] = {"terms": {"field": field, "size": FACET_LIMIT}}
        # The label of a source bucket: its name, read from the documents of that bucket.
        aggs["source"]["aggs"] = {"label": {"terms": {"field": "source_name", "size": 1}}}
    if q.histogram:
        aggs["histogram"] = {
            "date_histogram": {
                # Local days stored as UTC midnights: weeks start on Monday, as ISO weeks do.
                "field": "day",
                "calendar_interval": q.histogram,
                "format": "yyyy-MM-dd",
                "min_doc_count": 1,
            }
        }
    if aggs:
        request["aggs"] = aggs
    if highlight:
        request["highlight"] = {
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            # Scraped text may hold markup: the highlighter escapes it around the tags.
            "encoder": "html",
            "max_analyzed_offset": MAX_ANALYZED_CHARS,
            # Marks each word sought, not the ranking tiers' phrases as one span.
            "highlight_query": matched,
            "fields": {
                "title": {"number_of_fragments": 0},
                "lead": {"number_of_fragments": 1, "fragment_size": SNIPPET_CHARS},
                "body": {"number_of_fragments": 1, "fragment_size": SNIPPET_CHARS},
            },
        }
    return request
