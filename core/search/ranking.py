"""What both search backends derive from a parsed query to rank and to exclude by spelling.

Issue 18: "giáo dục -Đức" found nothing, because "Đức" and "dục" fold to the same key, and
"giao duc" ranked a story about a doctor named Đức above education news. So:
- a word typed with diacritics still matches every spelling, but documents with exactly that
  spelling (case aside) rank first, and after NOT/- it excludes only that spelling;
- among the rest, the query's words side by side in the typed order, then all of them in the
  title, outrank words scattered through the text; relevance (BM25) orders within a tier."""

from __future__ import annotations

from core.search.query import And, Node, Not, Or, Phrase, Term

# Tier weights: an exact-spelling match outranks any proximity, the adjacent phrase outranks
# a title that merely holds every word. A document's tier is the sum of the ones it earns.
EXACT_TIER, PHRASE_TIER, TITLE_TIER = 4, 2, 1


def is_exact(node: Node) -> bool:
    """A word or phrase typed with diacritics (compared by its exact spelling)."""
    return (
        isinstance(node, Term) and bool(node.exact) or isinstance(node, Phrase) and bool(node.exact)
    )


def has_exact(node: Node | None) -> bool:
    if node is None:
        return False
    if isinstance(node, Term | Phrase):
        return is_exact(node)
    if isinstance(node, Not):
        return has_exact(node.positive) or has_exact(node.negative)
    return any(has_exact(c) for c in node.children)


def has_exact_negative(node: Node | None) -> bool:
    """Whether some NOT excludes a word typed with diacritics (needs the exact index)."""
    if isinstance(node, Not):
        return has_exact(node.negative) or has_exact_negative(node.positive)
    if isinstance(node, And | Or):
        return any(has_exact_negative(c) for c in node.children)
    return False


def positive_part(node: Node | None) -> Node | None:
    """The query without its exclusions: what a matching document contains."""
    if isinstance(node, Not):
        return positive_part(node.positive)
    if isinstance(node, And | Or):
        kids = [k for k in (positive_part(c) for c in node.children) if k is not None]
        if not kids:
            return None
        return kids[0] if len(kids) == 1 else type(node)(tuple(kids))
    return node


def exact_positive(node: Node | None) -> Node | None:
    """The words typed with diacritics that a document should contain as spelled (None when
    the query has none): what ranks exact-spelling documents first."""
    node = positive_part(node)
    if isinstance(node, Term | Phrase):
        return node if is_exact(node) else None
    if not isinstance(node, And | Or):
        return None
    kids = [k for k in (exact_positive(c) for c in node.children) if k is not None]
    if not kids:
        return None
    return kids[0] if len(kids) == 1 else type(node)(tuple(kids))


def proximity_tokens(node: Node | None) -> tuple[str, ...]:
    """The folded words of a query of two or more plain words ("giao duc"), in typed order:
    documents holding them side by side rank above those with the words far apart."""
    node = positive_part(node)
    if not isinstance(node, And):
        return ()
    out: list[str] = []
    for child in node.children:
        if isinstance(child, Term) and not child.prefix:
            out.append(child.token)
        elif isinstance(child, Phrase):
            out.extend(child.tokens)
        else:
            return ()
    return tuple(out) if len(out) >= 2 else ()
