"""Which of the Department's units (and whether its province) a document names.

Every unit name is expanded into the spellings the press uses (THCS = trung học cơ sở,
Phòng GD&ĐT = Phòng GDĐT = Phòng Giáo dục và Đào tạo + district, "trường" optional), folded
by core.text (accents, đ/d, case do not matter), and put in one token trie. A document is
tokenised once and walked leftmost-longest, so thousands of units cost one pass per document.
The compiled matcher is cached per database and rebuilt when units change."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.models import Unit
from core.text import tokens

# School levels: every spelling of one level is interchangeable.
LEVELS: tuple[tuple[str, ...], ...] = (
    ("thcs", "trung hoc co so"),
    ("thpt", "trung hoc pho thong"),
    ("th", "tieu hoc"),
    ("mn", "mam non"),
    ("mg", "mau giao"),
    ("ptdtnt", "pho thong dan toc noi tru"),
    ("ptdtbt", "pho thong dan toc ban tru"),
    ("gdtx", "giao duc thuong xuyen"),
)
# "Giáo dục và Đào tạo" as written in names: GD&ĐT and GD-ĐT tokenise to "gd dt".
GDDT_FORMS = ("gd dt", "gddt", "gd va dt", "giao duc va dao tao", "giao duc dao tao")
# Administrative words written (or not) before a district or province name.
DISTRICT_WORDS = ("huyen", "quan", "thi xa", "thanh pho", "tp")
PROVINCE_WORDS = ("tinh", "thanh pho", "tp")
# Workers in other processes notice edits by re-reading the units at most this often.
RECHECK_S = 30.0

_LEVEL_OF = {form: i for i, forms in enumerate(LEVELS) for form in forms}
Phrase = tuple[str, ...]


def _phrase(text: str) -> Phrase:
    return tuple(tokens(text))


def _strip_words(name: Phrase, words: Iterable[str]) -> Phrase:
    for word in sorted((_phrase(w) for w in words), key=len, reverse=True):
        if name[: len(word)] == word and len(name) > len(word):
            return name[len(word) :]
    return name


def _place_forms(place: str, admin_words: Sequence[str]) -> list[Phrase]:
    """'Huyện Hòa Vang' -> hoa vang, huyen hoa vang, quan hoa vang, ..."""
    bare = _strip_words(_phrase(place), admin_words)
    if not bare:
        return []
    return [bare, *(_phrase(w) + bare for w in admin_words)]


def _split_levels(name: Phrase) -> tuple[list[int], Phrase]:
    """Leading school levels of a name ('th va thcs nguyen hue' -> [TH, THCS], rest)."""
    found: list[int] = []
    i = 0
    while i < len(name):
        for form in sorted(_LEVEL_OF, key=lambda f: -len(f.split())):
            words = tuple(form.split())
            if name[i : i + len(words)] == words:
                found.append(_LEVEL_OF[form])
                i += len(words)
                break
        else:
            if found and name[i] == "va" and i + 1 < len(name):
                i += 1  # "TH và THCS"
                continue
            break
    return found, name[i:]


def _school_forms(name: Phrase) -> list[Phrase]:
    """'truong thcs nguyen hue' -> every spelling of the levels, with and without 'truong'."""
    name = _strip_words(name, ["truong"])
    levels, rest = _split_levels(name)
    if not levels or not rest:
        return [name, ("truong", *name)]
    spelled = [[_phrase(f) for f in LEVELS[lv]] for lv in levels]
    out: list[Phrase] = []
    for combo in itertools.product(*spelled):
        joins = [sum(combo, ())]
        if len(combo) > 1:
            joins.append(tuple(itertools.chain(*[(*c, "va") for c in combo]))[:-1])
        for joined in joins:
            out += [joined + rest, ("truong", *joined, *rest)]
    return out


def _office_forms(head: str, places: list[Phrase]) -> list[Phrase]:
    """'Phòng' or 'Sở' + every GD&ĐT spelling + every form of the place."""
    return [(head, *_phrase(g), *place) for g in GDDT_FORMS for place in places]


def unit_phrases(unit: Unit | Any, province: str = "") -> set[Phrase]:
    """Every folded token sequence that names this unit."""
    name = _phrase(unit.name)
    kind = (unit.type or "truong").lower()
    # The registry's code is "phong_gddt" (alerts.units.types); "phong" is the older spelling.
    kind = "phong" if kind == "phong_gddt" else kind
    office = [f"{head} {g}" for head in ("phong", "so") for g in GDDT_FORMS]
    # A bare "Sở GD&ĐT" names every province's Sở: the name alone counts only with a place.
    named_place = kind not in ("so", "phong") or _strip_words(name, office) != name
    out: set[Phrase] = {name} if name and named_place else set()
    if kind == "phong":
        place = unit.district or " ".join(_strip_words(name, office))
        out.update(_office_forms("phong", _place_forms(place, DISTRICT_WORDS)))
    elif kind == "so":
        place = province or unit.district or ""
        if place:
            out.update(_office_forms("so", _place_forms(place, PROVINCE_WORDS)))
    elif name:
        out.update(_school_forms(name))
    for alias in unit.aliases or []:
        if isinstance(alias, str) and (folded := _phrase(alias)):
            out.add(folded)
    # Single common words ("trường", "th") name nothing on their own.
    return {p for p in out if len(p) >= 2}


PROVINCE = -1  # the trie's id for the province name itself


@dataclass
class Mentions:
    """What one document names: unit ids, ambiguous names left unlinked, the province."""

    unit_ids: list[int] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    names_province: bool = False


class UnitMatcher:
    """A token trie over every spelling of every active unit (and the province)."""

    def __init__(self, units: Iterable[Unit | Any], province: str = "") -> None:
        self.trie: dict[str, Any] = {}
        self.districts: dict[int, set[Phrase]] = {}
        # The Sở's own spellings end with the province, so naming it names the province.
        self.so_ids: set[int] = set()
        self.size = 0
        for unit in units:
            if unit.active is False:
                continue
            if (unit.type or "").lower() == "so":
                self.so_ids.add(unit.id)
            for phrase in unit_phrases(unit, province):
                self._add(phrase, unit.id)
            if unit.district:
                self.districts[unit.id] = set(_place_forms(unit.district, DISTRICT_WORDS)[:1])
            self.size += 1
        for phrase in _place_forms(province, PROVINCE_WORDS) if province else []:
            self._add(phrase, PROVINCE)

    def _add(self, phrase: Phrase, unit_id: int) -> None:
        node = self.trie
        for tok in phrase:
            node = node.setdefault(tok, {})
        node.setdefault("", set()).add(unit_id)

    def find(self, text: str) -> Mentions:
        """The units a text names; a name shared by several units counts only when the text
        also names the district of exactly those units (else it is reported as ambiguous)."""
        toks = tokens(text)
        hits: list[tuple[Phrase, set[int]]] = []
        i = 0
        while i < len(toks):
            node, best, end = self.trie, None, i
            for j in range(i, len(toks)):
                node = node.get(toks[j])  # type: ignore[assignment]
                if node is None:
                    break
                if "" in node:
                    best, end = node[""], j + 1
            if best is None:
                i += 1
                continue
            hits.append((tuple(toks[i:end]), best))
            i = end
        out = Mentions()
        text_phrases = _ngrams(toks, 4) if any(len(ids) > 1 for _, ids in hits) else set()
        for phrase, ids in hits:
            if PROVINCE in ids or ids & self.so_ids:
                out.names_province = True
                ids = ids - {PROVINCE}
            if len(ids) > 1:
                ids = {u for u in ids if self.districts.get(u, set()) & text_phrases}
                if len(ids) != 1:
                    out.ambiguous.append(" ".join(phrase))
                    continue
            out.unit_ids.extend(u for u in ids if u not in out.unit_ids)
        return out


def _ngrams(toks: list[str], n: int) -> set[Phrase]:
    return {tuple(toks[i : i + k]) for k in range(1, n + 1) for i in range(len(toks) - k + 1)}


# ------------------------------------------------------------------------------ cache

_cache: dict[str, tuple[str, float, UnitMatcher]] = {}
_cache_lock = threading.Lock()


def _fingerprint(rows: Sequence[Any], province: str) -> str:
    h = hashlib.sha256(province.encode())
    for r in rows:
        h.update(repr((r.id, r.name, r.type, r.district, r.aliases, r.active)).encode())
    return h.hexdigest()


def get_matcher(session: Session, province: str = "") -> UnitMatcher:
    """The compiled matcher for this database, rebuilt when its units changed."""
    where = str(session.get_bind().engine.url) + "|" + province
    now = time.monotonic()
    cached = _cache.get(where)
    if cached is not None and now - cached[1] < RECHECK_S:
        return cached[2]
    rows = session.execute(
        select(Unit.id, Unit.name, Unit.type, Unit.district, Unit.aliases, Unit.active).order_by(
            Unit.id
        )
    ).all()
    digest = _fingerprint(rows, province)
    with _cache_lock:
        if cached is not None and cached[0] == digest:
            matcher = cached[2]
        else:
            matcher = UnitMatcher(rows, province)
        _cache[where] = (digest, now, matcher)
    return matcher


def invalidate_units() -> None:
    """Forget every compiled matcher (unit import and admin edits call this)."""
    with _cache_lock:
        _cache.clear()


@event.listens_for(Session, "after_flush")
def _units_flushed(session: Session, _ctx: Any) -> None:
    # Edits made in this process are seen at once; other processes within RECHECK_S.
    if any(isinstance(o, Unit) for o in (*session.new, *session.dirty, *session.deleted)):
        invalidate_units()
