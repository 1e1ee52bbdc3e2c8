"""The search syntax: words, "phrases", prefix*, AND / OR / NOT (VÀ / HOẶC / KHÔNG), -word,
parentheses. Parsed into a small tree that every backend translates itself, so user text
never reaches a backend's own query language."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.search.base import QuerySyntaxError
from core.text import clean, fold, token_spans, tokens

AND_WORDS = {"AND", "VÀ", "&&"}
OR_WORDS = {"OR", "HOẶC", "||"}
NOT_WORDS = {"NOT", "KHÔNG"}
MAX_QUERY_CHARS = 1000
MAX_TERMS = 64


@dataclass(frozen=True, slots=True)
class Term:
    """One folded token; `prefix` matches every token that starts with it. `exact` is the
    lowercase spelling as typed when it carries diacritics ("" otherwise): such a word ranks
    documents with that very spelling first, and excludes only that spelling after NOT."""

    token: str
    prefix: bool = False
    exact: str = ""


@dataclass(frozen=True, slots=True)
class Phrase:
    """Folded tokens that must appear in this order, next to each other; `exact` holds the
    lowercase spellings as typed when any of them carries diacritics (() otherwise)."""

    tokens: tuple[str, ...]
    exact: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """`positive` minus `negative`; positive None means "every document except"."""

    positive: Node | None
    negative: Node


Node = Term | Phrase | And | Or | Not

_LEX_RE = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<lp>\()|(?P<rp>\))|(?P<word>[^\s()"]+)')


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for m in _LEX_RE.finditer(text):
        if m.group("phrase") is not None:
            out.append(("phrase", m.group("phrase")))
        elif m.group("lp"):
            out.append(("lp", "("))
        elif m.group("rp"):
            out.append(("rp", ")"))
        else:
            word = m.group("word")
            if word in AND_WORDS:
                out.append(("and", word))
            elif word in OR_WORDS:
                out.append(("or", word))
            elif word in NOT_WORDS:
                out.append(("not", word))
            elif word.startswith("-") and len(word) > 1:
                out.append(("not", "-"))
                out.append(("word", word[1:]))
            else:
                out.append(("word", word))
    return out


def exact_tokens(text: str) -> list[str]:
    """The lowercase tokens of text keeping their diacritics, split where core.text.tokens
    splits (fold() maps one char to one char, so its token spans cut the original too)."""
    text = unicodedata.normalize("NFC", text)
    return [text[start:end].lower() for start, end, _ in token_spans(fold(text))]


def _spelled(text: str) -> tuple[list[str], list[str]]:
    """(folded tokens, exact spellings or [] when no token carries diacritics)."""
    toks = tokens(text)
    exact = exact_tokens(text)
    if len(exact) != len(toks) or exact == toks:
        return toks, []
    return toks, exact


def _text_node(text: str, prefix: bool = False) -> Node | None:
    toks, exact = _spelled(text)
    if not toks:
        return None
    if len(toks) == 1:
        # A one-letter prefix would expand to most of the vocabulary.
        return Term(toks[0], prefix=prefix and len(toks[0]) >= 2, exact=exact[0] if exact else "")
    return Phrase(tuple(toks), tuple(exact))


def _word_node(word: str) -> Node | None:
    return _text_node(word, prefix=word.endswith("*"))


class _Parser:
    def __init__(self, lexemes: list[tuple[str, str]]):
        self.lex = lexemes
        self.pos = 0

    def peek(self) -> str | None:
        return self.lex[self.pos][0] if self.pos < len(self.lex) else None

    def parse_or(self, depth: int) -> Node | None:
        parts: list[Node] = []
        node = self.parse_and(depth)
        if node is not None:
            parts.append(node)
        while self.peek() == "or":
            self.pos += 1
            node = self.parse_and(depth)
            if node is not None:
                parts.append(node)
        if any(isinstance(p, Not) and p.positive is None for p in parts) and len(parts) > 1:
            raise QuerySyntaxError(
                "Không dùng được HOẶC/OR với một vế chỉ có KHÔNG/NOT; hãy thêm từ khóa vào vế đó."
            )
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self, depth: int) -> Node | None:
        positives: list[Node] = []
        negatives: list[Node] = []
        negate = False
        while True:
            kind = self.peek()
            if kind is None or kind == "or":
                break
            if kind == "rp":
                if depth > 0:
                    break
                self.pos += 1  # a stray ")" is ignored, not an error
                continue
            if kind == "and":
                self.pos += 1
                continue
            if kind == "not":
                self.pos += 1
                negate = True
                continue
            node = self.parse_unary(depth)
            if node is None:
                continue
            if isinstance(node, Not) and node.positive is None:
                # "(NOT x)" inside a conjunction is just another exclusion.
                (positives if negate else negatives).append(node.negative)
            elif negate:
                negatives.append(node)
            else:
                positives.append(node)
            negate = False
        pos: Node | None = None
        if positives:
            pos = positives[0] if len(positives) == 1 else And(tuple(positives))
        if not negatives:
            return pos
        neg = negatives[0] if len(negatives) == 1 else Or(tuple(negatives))
        return Not(pos, neg)

    def parse_unary(self, depth: int) -> Node | None:
        kind, value = self.lex[self.pos]
        self.pos += 1
        if kind == "lp":
            if depth >= 8:
                raise QuerySyntaxError("Truy vấn lồng ngoặc quá sâu.")
            node = self.parse_or(depth + 1)
            if self.peek() == "rp":
                self.pos += 1
            # A missing ")" is closed at the end of the query.
            return node
        if kind == "phrase":
            return _text_node(value)
        return _word_node(value)


def parse(text: str | None) -> Node | None:
    """Parse a user query; None means "no text condition" (match everything)."""
    text = clean(text or "")
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"Truy vấn quá dài (tối đa {MAX_QUERY_CHARS} ký tự).")
    if not text:
        return None
    node = _Parser(_lex(text)).parse_or(0)
    if node is None:
        raise QuerySyntaxError("Truy vấn không có từ khóa nào để tìm; hãy nhập chữ hoặc số.")
    if len(positive_terms(node)) + len(_negative_terms(node)) > MAX_TERMS:
        raise QuerySyntaxError(f"Truy vấn có quá nhiều từ (tối đa {MAX_TERMS}).")
    return node


def positive_terms(node: Node | None) -> list[Term]:
    """The terms a matching document contains (for highlighting)."""
    if node is None:
        return []
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Phrase):
        return [Term(t) for t in node.tokens]
    if isinstance(node, Not):
        return positive_terms(node.positive)
    return [t for child in node.children for t in positive_terms(child)]


def _negative_terms(node: Node | None) -> list[Term]:
    if isinstance(node, Not):
        return positive_terms(node.negative) + _negative_terms(node.positive)
    if isinstance(node, And | Or):
        return [t for child in node.children for t in _negative_terms(child)]
    return []
