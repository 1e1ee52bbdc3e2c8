"""Which provinces and communes a text is about, on the 2025 map.

Every spelling of every unit of both maps (34 provinces and their 3,321 communes and wards;
the 63 former provinces, 696 districts and 10,035 communes) is squashed to letters and digits
("Đắk Lắk", "Dak Lak", "Daklak" -> daklak; "TP.HCM" -> tphcm). The text is tokenised once and
walked leftmost-longest over runs of tokens, squashed the same way, so spacing and diacritics
do not matter. Old names count for the province they are part of now.

Precision rules, each from a way the press uses these names for something else:
- a commune or district counts only with its kind before it (xã, phường, đặc khu, huyện,
  quận, thị xã, TP.): "Quang Trung", "Lê Lợi" are also streets and people; only the
  Department's own communes count written bare ("lên Măng Đen"), capitalised, two words or
  more, not after a title, a school or a street, not starting with a family name;
- a province written without "tỉnh"/"TP." must be capitalised ("hòa bình" is peace) and not
  follow a title or family name ("chị Huế", "Nguyễn Thái Bình" are people);
- a name shared by several units (xã An Phú is in many provinces) is resolved by the provinces
  the text names unambiguously, then by the Department's own province, then by the one 2025
  commune of that name (over pre-2025 communes that had it), else dropped;
- communes whose names differ only in diacritics (xã Ba Tô, xã Ba Tơ) are told apart by the
  diacritics when the text has them."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from core.geo.data import AdminMap, admin_map
from core.text import clean, fold, normalize, token_spans

# Squashed kind words, longest first; a key starting with one is a "prefixed" spelling.
PROVINCE_PREFIXES = ("thanhpho", "tinh", "tp")
DISTRICT_PREFIXES = ("thanhpho", "thixa", "huyen", "quan", "tp", "tx")
COMMUNE_PREFIXES = ("dackhu", "thitran", "phuong", "xa")
# Words before a capitalised name that make it a person's name, not a place (folded).
_PERSON_WORDS = (
    "ong ba anh chi em co thay chau be cu van thi nguyen tran le pham hoang huynh phan vu "
    "vo dang bui do ho ngo duong ly dinh truong lam mai"
)
PERSON_CUES = frozenset(_PERSON_WORDS.split())
# Words before a name that make it a school, street or other thing named after the place.
_OBJECT_WORDS = "truong thpt thcs th mn mg duong pho cau cho cong ty benh vien"
OBJECT_CUES = frozenset(_OBJECT_WORDS.split())
# Communes named after people ("Trương Quang Trọng", "Nguyễn Nghiêm") are also schools and
# streets: written bare, they are not taken for the commune.
_SURNAME_WORDS = "nguyen tran le pham hoang huynh phan vu vo dang bui do ngo duong dinh truong"
SURNAMES = frozenset(_SURNAME_WORDS.split())
MAX_TOKENS = 8
_NON_WORD_RE = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One unit a squashed spelling can mean."""

    kind: str  # province | former_province | district | commune | former_commune
    code: str
    province: str  # the 2025 province code
    commune: str | None  # the 2025 commune code, for commune-level units
    prefix: str  # the kind word the spelling starts with, "" for a bare name


@dataclass(slots=True)
class Mention:
    start: int
    end: int
    text: str
    entries: list[Entry]


@dataclass(slots=True)
class Locality:
    """What a text is about: 2025 province codes and commune codes, sorted."""

    provinces: list[str] = field(default_factory=list)
    communes: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


def _prefix(key: str, prefixes: tuple[str, ...]) -> str | None:
    return next((p for p in prefixes if key.startswith(p) and len(key) > len(p)), None)


@cache
def default_index() -> Index:
    """The index over the package's data, built once per process (~1 s)."""
    return Index(admin_map())


class Index:
    """squashed spelling -> the units it can mean."""

    def __init__(self, amap: AdminMap) -> None:
        self.map = amap
        self.entries: dict[str, list[Entry]] = defaultdict(list)
        for p in amap.provinces.values():
            for k in p.keys:
                self._add(k, Entry("province", p.code, p.code, None, _bare(k, PROVINCE_PREFIXES)))
        for fp in amap.former_provinces.values():
            for k in fp.keys:
                pre = _bare(k, PROVINCE_PREFIXES)
                self._add(k, Entry("former_province", fp.code, fp.province, None, pre))
        for d in amap.former_districts.values():
            for k in d.keys:
                if dpre := _prefix(k, DISTRICT_PREFIXES):
                    self._add(k, Entry("district", d.code, d.province, None, dpre))
        for c in amap.communes.values():
            for k in c.keys:
                cpre = _prefix(k, COMMUNE_PREFIXES) or ""
                self._add(k, Entry("commune", c.code, c.province, c.code, cpre))
        for fc in amap.former_communes.values():
            for k in fc.keys:
                if (fpre := _prefix(k, COMMUNE_PREFIXES)) and fc.commune:
                    self._add(k, Entry("former_commune", fc.code, fc.province, fc.commune, fpre))
        self.max_len = max(len(k) for k in self.entries)
        # Every leading part of a spelling, so the walk stops as soon as no name can follow.
        self.prefixes = {k[:n] for k in self.entries for n in range(1, len(k))}

    def _add(self, key: str, entry: Entry) -> None:
        if entry not in self.entries[key]:
            self.entries[key].append(entry)


def _bare(key: str, prefixes: tuple[str, ...]) -> str:
    return _prefix(key, prefixes) or ""


def _capitalised(cased: str, spans: list[tuple[int, int, str]]) -> bool:
    return all(cased[s].isupper() or cased[s].isdigit() for s, _, _ in spans)


def _name_spans(spans: list[tuple[int, int, str]], prefix: str) -> list[tuple[int, int, str]]:
    """The tokens after the kind word ("xã", "thành phố", "TP.") of a match."""
    taken = ""
    for i, (_, _, tok) in enumerate(spans):
        if taken == prefix:
            return spans[i:]
        taken += tok
    return spans


def find_mentions(text: str, index: Index | None = None, own: str | None = None) -> list[Mention]:
    """Every place name in the text, leftmost-longest, with the units each can mean
    (`own`: the Department's province, whose communes count written bare too)."""
    index = index or default_index()
    text = clean(text)
    # fold() keeps one character per character, so positions in `folded` index `text` too.
    folded, cased = fold(text), text
    spans = token_spans(folded)
    # A text written all in lower case (a comment, a post) has no capitals to go by.
    has_capitals = cased != cased.lower()
    out: list[Mention] = []
    i = 0
    while i < len(spans):
        best: tuple[int, list[Entry]] | None = None
        squashed = ""
        for j in range(i, min(len(spans), i + MAX_TOKENS)):
            squashed += spans[j][2]
            entries = index.entries.get(squashed)
            if entries:
                ok = [e for e in entries if _accept(e, spans, i, j, cased, has_capitals, own)]
                if any(e.prefix or e.kind != "commune" for e in ok):
                    # A bare name that is also a province's or a district's is that.
                    ok = [e for e in ok if e.prefix or e.kind != "commune"]
                if ok:
                    best = (j, ok)
            if squashed not in index.prefixes:
                break
        if best is None:
            i += 1
            continue
        j, entries = best
        start, end = spans[i][0], spans[j][1]
        out.append(Mention(start, end, text[start:end], entries))
        i = j + 1
    return out


def _accept(
    e: Entry,
    spans: list[tuple[int, int, str]],
    i: int,
    j: int,
    cased: str,
    capitals: bool,
    own: str | None = None,
) -> bool:
    if e.prefix:
        name = _name_spans(spans[i : j + 1], e.prefix)
        return not capitals or _capitalised(cased, name)
    if e.kind == "commune":
        # The Department's own communes, named bare as its local press does ("lên Măng
        # Đen"): two words or more, capitalised, not a person's or a school's name.
        return (
            e.province == own
            and capitals
            and j > i
            and spans[i][2] not in SURNAMES
            and _capitalised(cased, spans[i : j + 1])
            and (i == 0 or spans[i - 1][2] not in PERSON_CUES | OBJECT_CUES)
        )
    if e.kind not in ("province", "former_province") or not capitals:
        return False
    if not _capitalised(cased, spans[i : j + 1]):
        return False
    return i == 0 or spans[i - 1][2] not in PERSON_CUES


def accented(text: str) -> str:
    """Lowercase letters and digits with their diacritics (Ba Tô and Ba Tơ stay apart)."""
    return _NON_WORD_RE.sub("", normalize(text).lower())


def _same_accents(text: str, communes: set[str]) -> set[str]:
    """Of communes whose names differ only in diacritics, those written as in the text
    (all of them when the text has no diacritics, or matches none)."""
    if len(communes) < 2:
        return communes
    written = accented(text)
    amap = default_index().map
    same = {c for c in communes if written.endswith(accented(amap.communes[c].short))}
    return same or communes


def locate(text: str, own: str | None = None, index: Index | None = None) -> Locality:
    """The provinces and communes `text` is about; `own` (a province code) breaks ties."""
    mentions = find_mentions(text, index, own)
    sure = {m.entries[0].province for m in mentions if len({e.province for e in m.entries}) == 1}
    provinces: set[str] = set()
    communes: set[str] = set()
    for m in mentions:
        candidates = m.entries
        if len({e.province for e in candidates}) > 1:
            # Named provinces first, then the Department's own, then a 2025 name over the
            # pre-2025 communes that shared it.
            candidates = (
                [e for e in candidates if e.province in sure]
                or [e for e in candidates if own and e.province == own]
                or [e for e in candidates if e.kind == "commune"]
            )
            if len({e.province for e in candidates}) != 1:
                continue
        provinces.update(e.province for e in candidates)
        named = {e.commune for e in candidates if e.kind == "commune" and e.commune}
        # A former commune's name counts only when no 2025 commune there has that name.
        communes.update(
            _same_accents(m.text, named) or {e.commune for e in candidates if e.commune}
        )
    return Locality(sorted(provinces), sorted(communes), mentions)
