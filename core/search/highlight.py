"""Highlighted snippets: escape the text, then wrap the query's terms in <mark>.

Matching runs on the folded text, which has the same length as the normalised text, so a
match found without diacritics marks the original, accented characters."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from core.search.query import Term
from core.text import fold, token_spans


def _matches(folded: str, terms: Sequence[Term]) -> list[tuple[int, int]]:
    exact = {t.token for t in terms if not t.prefix}
    prefixes = tuple(t.token for t in terms if t.prefix)
    return [
        (start, end)
        for start, end, tok in token_spans(folded)
        if tok in exact or (prefixes and tok.startswith(prefixes))
    ]


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out: list[str] = []
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def highlight_all(text: str, terms: Sequence[Term]) -> str:
    """The whole text, escaped, with every term marked (for titles)."""
    return _render(text, _matches(fold(text), terms) if terms else [], 0, len(text))


def snippet(text: str, terms: Sequence[Term], *, length: int = 240) -> str:
    """A window of about `length` characters around the first match, escaped and marked."""
    text = text.replace("\n", " ")
    spans = _matches(fold(text), terms) if terms else []
    if not spans or len(text) <= length:
        start = 0
    else:
        first = spans[0][0]
        # Start a little before the first hit, on a word boundary.
        start = max(0, first - length // 4)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + length)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    html = _render(text, spans, start, end)
    return ("…" if start else "") + html + ("…" if end < len(text) else "")
