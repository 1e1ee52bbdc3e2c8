"""Alert rules (saved searches) evaluated on each new document, in the app: no percolator.

A rule's query uses the search syntax (core.search.query) and is matched against the
document's folded tokens, so it behaves like the search page: accents, đ/d and tone-mark
placement do not matter, "phrases" need adjacent words, prefix* matches word starts."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Rule
from core.search.base import QuerySyntaxError
from core.search.query import And, Node, Not, Or, Phrase, Term, parse
from core.text import tokens

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DocumentFacts:
    """What a rule can look at in one document."""

    text: str
    topics: list[str] = field(default_factory=list)
    sentiment: str | None = None
    risk: str | None = None
    source_id: int | None = None
    scope: str | None = None  # the source's: national, local or social
    units: list[int] = field(default_factory=list)
    # 2025 province and commune codes it is about (document_places, core.geo).
    places: list[str] = field(default_factory=list)
    reach: int = 0


class _Positions:
    """Token -> positions in the document, for terms, prefixes and phrases."""

    def __init__(self, text: str):
        self.where: dict[str, list[int]] = defaultdict(list)
        self.toks = tokens(text)
        for i, tok in enumerate(self.toks):
            self.where[tok].append(i)

    def index_keys(self) -> set[str]:
        """Every token and every pair of adjacent tokens (the rule index's keys)."""
        return set(self.where) | {
            f"{a} {b}" for a, b in zip(self.toks, self.toks[1:], strict=False)
        }

    def term(self, t: Term) -> bool:
        if t.prefix:
            return any(tok.startswith(t.token) for tok in self.where)
        return t.token in self.where

    def phrase(self, p: Phrase) -> bool:
        first, *rest = p.tokens
        return any(
            all(start + k + 1 in self.where.get(tok, ()) for k, tok in enumerate(rest))
            for start in self.where.get(first, ())
        )


def _eval(node: Node | None, pos: _Positions) -> bool:
    if node is None:
        return True
    if isinstance(node, Term):
        return pos.term(node)
    if isinstance(node, Phrase):
        return pos.phrase(node)
    if isinstance(node, And):
        return all(_eval(c, pos) for c in node.children)
    if isinstance(node, Or):
        return any(_eval(c, pos) for c in node.children)
    assert isinstance(node, Not)
    return _eval(node.positive, pos) and not _eval(node.negative, pos)


def _any_of(wanted: Any, values: list[Any]) -> bool:
    return not wanted or bool(set(wanted) & set(values))


def _filters_pass(filters: dict[str, Any], facts: DocumentFacts) -> bool:
    if not _any_of(filters.get("topics"), facts.topics):
        return False
    if not _any_of(filters.get("sentiments"), [facts.sentiment]):
        return False
    if not _any_of(filters.get("risks"), [facts.risk]):
        return False
    if not _any_of(filters.get("sources"), [facts.source_id]):
        return False
    if not _any_of(filters.get("scopes"), [facts.scope]):
        return False
    if not _any_of(filters.get("units"), facts.units):
        return False
    if not _any_of(filters.get("places"), facts.places):
        return False
    return facts.reach >= int(filters.get("min_reach") or 0)


def matches(query: str, filters: dict[str, Any], facts: DocumentFacts) -> bool:
    """True when the document satisfies the rule's query and every one of its filters.

    Filters: topics, sentiments, risks, sources, scopes, units, places (any of the listed
    values) and
    min_reach (likes + shares + comments). Raises QuerySyntaxError for a broken query."""
    return _filters_pass(filters, facts) and _eval(parse(query), _Positions(facts.text))


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """An enabled rule with its query parsed once (None when the query is unusable)."""

    id: int
    name: str
    severity: str | None
    filters: dict[str, Any]
    node: Node | None
    error: str | None = None


def compile_rule(
    rule_id: int, name: str, query: str, filters: Any, severity: str | None
) -> CompiledRule:
    """Parse a rule's query once; a broken query is kept with its error and never matches."""
    try:
        return CompiledRule(rule_id, name, severity, dict(filters or {}), parse(query))
    except QuerySyntaxError as exc:
        return CompiledRule(rule_id, name, severity, {}, None, str(exc))


def triggers(node: Node | None) -> frozenset[str] | None:
    """Keys (tokens, or adjacent pairs "a b") of which a matching document must hold at
    least one; None when the query cannot be narrowed (prefix terms, filters only)."""
    if node is None:
        return None
    if isinstance(node, Term):
        return None if node.prefix else frozenset([node.token])
    if isinstance(node, Phrase):
        # A phrase requires each of its adjacent pairs; the longest pair is usually rarest.
        if len(node.tokens) == 1:
            return frozenset(node.tokens)
        pairs = [f"{a} {b}" for a, b in zip(node.tokens, node.tokens[1:], strict=False)]
        return frozenset([max(pairs, key=len)])
    if isinstance(node, And):
        known = [t for t in map(triggers, node.children) if t is not None]
        # Prefer a pair over a single word, then the longest: fewer documents hold it.
        rarity = [(len(t), -min(k.count(" ") for k in t), -max(map(len, t))) for t in known]
        return known[rarity.index(min(rarity))] if known else None
    if isinstance(node, Or):
        found = [triggers(c) for c in node.children]
        if any(t is None for t in found):
            return None
        return frozenset().union(*(t for t in found if t is not None))
    assert isinstance(node, Not)
    return triggers(node.positive)


class RuleSet:
    """Compiled rules with an index from trigger token to rules, so a document is checked
    only against the rules it could match (plus those the index cannot narrow)."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = [r for r in rules if r.error is None]
        self.by_token: dict[str, list[int]] = defaultdict(list)
        self.always: list[int] = []
        for i, rule in enumerate(self.rules):
            found = triggers(rule.node)
            if found is None:
                self.always.append(i)
            for tok in found or ():
                self.by_token[tok].append(i)

    def __len__(self) -> int:
        return len(self.rules)

    def matching(self, facts: DocumentFacts) -> list[CompiledRule]:
        """The rules this document satisfies, in rule order."""
        pos = _Positions(facts.text)
        candidates = set(self.always)
        for key in pos.index_keys():
            candidates.update(self.by_token.get(key, ()))
        out = []
        for i in sorted(candidates):
            rule = self.rules[i]
            if _filters_pass(rule.filters, facts) and _eval(rule.node, pos):
                out.append(rule)
        return out


def matching_rules(rules: RuleSet, facts: DocumentFacts) -> list[CompiledRule]:
    """The rules a document satisfies; its text is tokenised once for all of them."""
    return rules.matching(facts)


# db url -> (version, compiled rules); the version changes with any insert, edit, toggle
# or delete, so an edited rule is recompiled before the next document.
_compiled: dict[str, tuple[tuple[Any, ...], RuleSet]] = {}


def compiled_rules(session: Session) -> RuleSet:
    """The enabled rules, compiled, from a per-process cache keyed by the rules' version."""
    where = str(session.get_bind().engine.url)
    version = tuple(
        session.execute(
            select(func.count(Rule.id), func.max(Rule.id), func.max(Rule.updated_at)).where(
                Rule.enabled.is_(True)
            )
        ).one()
    )
    cached = _compiled.get(where)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = session.execute(
        select(Rule.id, Rule.name, Rule.query, Rule.filters, Rule.severity)
        .where(Rule.enabled.is_(True))
        .order_by(Rule.id)
    )
    rules = [compile_rule(*row) for row in rows]
    broken = [r for r in rules if r.error is not None]
    for rule in broken:
        log.warning("rule %s has an unusable query: %s", rule.id, rule.error)
    ruleset = RuleSet(rules)
    _compiled[where] = (version, ruleset)
    return ruleset
