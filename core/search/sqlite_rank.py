"""The SQLite backend's query evaluation: FTS5 expressions, exclusions by exact spelling and
the ranking tiers of core.search.ranking.

Two FTS5 tables hold each document: `search_fts` (folded text: accent-insensitive matching)
and `search_exact` (lowercase text keeping its diacritics). A query without an exclusion typed
with diacritics is one MATCH on search_fts, as before; otherwise the tree is evaluated as sets
of rowids, each exclusion typed with diacritics looked up in search_exact."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import reduce

import numpy as np

from core.search.base import QuerySyntaxError
from core.search.query import And, Node, Not, Or, Phrase, Term
from core.search.ranking import (
    EXACT_TIER,
    PHRASE_TIER,
    TITLE_TIER,
    exact_positive,
    has_exact,
    has_exact_negative,
    is_exact,
    positive_part,
    proximity_tokens,
)

FOLDED, EXACT = "search_fts", "search_exact"
# (table, MATCH expression, lowest rowid) -> the matching rowids, ascending.
Match = Callable[[str, str, int], np.ndarray]


def exact_text(text: str) -> str:
    """What search_exact indexes: the text lowercased, diacritics kept (FTS5 then splits it
    as it splits the folded copy, since fold() keeps one char per char)."""
    return unicodedata.normalize("NFC", text).lower()


def _quote(token: str) -> str:
    # Tokens are runs of letters and digits, but quote-doubling keeps FTS5 safe regardless.
    return '"' + token.replace('"', '""') + '"'


def to_fts(node: Node, *, exact: bool = False) -> str:
    """Translate a parsed query into an FTS5 MATCH expression (every token quoted); with
    exact, words typed with diacritics keep their spelling (for search_exact)."""
    if isinstance(node, Term):
        token = node.exact if exact and node.exact else node.token
        return _quote(token) + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return _quote(" ".join(node.exact if exact and node.exact else node.tokens))
    if isinstance(node, And):
        return "(" + " AND ".join(to_fts(c, exact=exact) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts(c, exact=exact) for c in node.children) + ")"
    if node.positive is None:
        raise QuerySyntaxError("Điều kiện KHÔNG/NOT cần một từ khóa đứng trước.")
    return f"({to_fts(node.positive, exact=exact)} NOT {to_fts(node.negative, exact=exact)})"


def _all(sets: list[np.ndarray]) -> np.ndarray:
    return reduce(np.intersect1d, sets)


def _any(sets: list[np.ndarray]) -> np.ndarray:
    return reduce(np.union1d, sets)


def _excluded(match: Match, node: Node, everything: Callable[[], np.ndarray]) -> np.ndarray:
    """Rowids an exclusion removes: a word typed with diacritics only in that spelling."""
    if not has_exact(node):
        return match(FOLDED, to_fts(node), 0)
    if isinstance(node, Term | Phrase):
        return (
            match(EXACT, to_fts(node, exact=True), 0)
            if is_exact(node)
            else match(FOLDED, to_fts(node), 0)
        )
    if isinstance(node, And):
        return _all([_excluded(match, c, everything) for c in node.children])
    if isinstance(node, Or):
        return _any([_excluded(match, c, everything) for c in node.children])
    return matching_ids(match, node, everything)


def matching_ids(match: Match, node: Node, everything: Callable[[], np.ndarray]) -> np.ndarray:
    """Rowids matching the text query; `everything` gives all rowids (for "NOT x" alone)."""
    if isinstance(node, Not) and node.positive is None:
        return np.setdiff1d(everything(), _excluded(match, node.negative, everything))
    if not has_exact_negative(node):
        return match(FOLDED, to_fts(node), 0)
    if isinstance(node, And):
        return _all([matching_ids(match, c, everything) for c in node.children])
    if isinstance(node, Or):
        return _any([matching_ids(match, c, everything) for c in node.children])
    assert isinstance(node, Not) and node.positive is not None
    kept = matching_ids(match, node.positive, everything)
    return np.setdiff1d(kept, _excluded(match, node.negative, everything))


def scoring_expr(node: Node) -> str | None:
    """The MATCH expression BM25 scores: the words sought, not the ones excluded."""
    positive = positive_part(node)
    return None if positive is None else to_fts(positive)


def tiers(match: Match, node: Node, ids: np.ndarray, floor: int) -> np.ndarray:
    """Each of `ids`' ranking tier (see core.search.ranking); rows under `floor` get 0."""
    out = np.zeros(len(ids))
    positive = positive_part(node)
    if positive is None or not len(ids):
        return out
    spelled = exact_positive(node)
    if spelled is not None:
        out += EXACT_TIER * np.isin(ids, match(EXACT, to_fts(spelled, exact=True), floor))
    words = proximity_tokens(node)
    if words:
        out += PHRASE_TIER * np.isin(ids, match(FOLDED, _quote(" ".join(words)), floor))
    out += TITLE_TIER * np.isin(ids, match(FOLDED, f"title : ({to_fts(positive)})", floor))
    return out
