"""Vietnamese text normalisation shared by ingest, search indexing, query parsing and matching."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "TOKEN_RE",
    "clean",
    "fold",
    "key",
    "normalize",
    "strip_accents",
    "token_spans",
    "tokens",
]

# --------------------------------------------------------------------------- clean

# Vertical tab, form feed, NEL and the Unicode line/paragraph separators act as line breaks
# in the wild; deleting them (as other controls are) would glue words together.
_LINE_BREAKS = frozenset("\r\x0b\x0c\x85\u2028\u2029")


class _CleanTable(dict[int, str | None]):
    """str.translate table that classifies each code point once, on first sight."""

    def __missing__(self, cp: int) -> str | None:
        ch = chr(cp)
        out: str | None = ch
        if ch == "\n":
            pass
        elif ch == "\t":
            out = " "
        elif ch in _LINE_BREAKS:
            out = "\n"
        else:
            cat = unicodedata.category(ch)
            if cat == "Zs":
                out = " "
            elif cat in ("Cc", "Cf"):
                out = None
        self[cp] = out
        return out


_CLEAN_TABLE = _CleanTable()
# Every character that could need work: not a word char, '\n' or printable ASCII. Real text
# has few such runs (curly quotes, dashes, NBSP), so a regex beats translating every char.
_CLEAN_CANDIDATE_RE = re.compile(r"[^\w\n -~]+")
_MULTI_SPACE_RE = re.compile(r" {2,}")
_LINE_EDGE_RE = re.compile(r" ?\n ?")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def _clean_run(match: re.Match[str]) -> str:
    return match.group().translate(_CLEAN_TABLE)


def clean(text: str | None) -> str:
    """Return NFC text without control/zero-width characters and with tidy whitespace."""
    if not text:
        return ""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    # isprintable() is False for exactly the Cc/Cf/Z* characters (plus unassigned/private
    # ones), so most articles skip the substitution entirely.
    if not text.replace("\n", " ").isprintable():
        text = _CLEAN_CANDIDATE_RE.sub(_clean_run, text)
    # Controls go before NFC so a zero-width char between a letter and its mark cannot
    # block composition.
    text = unicodedata.normalize("NFC", text)
    # The cheap substring tests skip regex passes that would find nothing.
    if "  " in text:
        text = _MULTI_SPACE_RE.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGE_RE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


# ----------------------------------------------------------------------- normalize

# huyền, hỏi, ngã, sắc, nặng
_TONE_MARKS = "\u0300\u0309\u0303\u0301\u0323"
_VOWELS = "aăâeêioôơuưy"
_SHAPED = frozenset("ăâêôơư")
_VOWEL_SET = frozenset(_VOWELS)

# toned vowel -> (same vowel without tone, same case; tone mark), and the reverse.
_UNTONE: dict[str, tuple[str, str]] = {}
_RETONE: dict[tuple[str, str], str] = {}
for _v in _VOWELS + _VOWELS.upper():
    for _mark in _TONE_MARKS:
        _toned = unicodedata.normalize("NFC", _v + _mark)
        _UNTONE[_toned] = (_v, _mark)
        _RETONE[_v, _mark] = _toned
del _v, _mark, _toned

# Longest first so 'ngh' wins over 'ng' and 'n'; 'gi' and 'qu' are handled separately.
_ONSETS = (
    "ngh", "ng", "nh", "ch", "gh", "kh", "ph", "th", "tr",
    "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x",
)  # fmt: skip
# 'k' covers Central Highlands names such as Đắk Lắk.
_FINALS = frozenset(("", "c", "ch", "k", "m", "n", "ng", "nh", "p", "t"))
# Vowel nuclei (without tone); after 'qu'/'gi' the u/i belongs to the onset.
_NUCLEI = frozenset(
    (*_VOWELS, "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă")
    + ("oe", "oi", "oo", "ôi", "ơi", "ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ưu")
    + ("ươ", "yê", "iêu", "yêu", "oai", "oao", "oay", "oeo", "uây", "uôi", "ươi", "ươu", "uya")
    + ("uyê", "uyu")
)
# No Vietnamese syllable is longer than this ('nghiêng'), so longer words skip parsing.
_MAX_SYLLABLE = 7


def _split_syllable(lower: str) -> tuple[int, str, str] | None:
    """Split a toneless lowercase word into (onset length, nucleus, final), or None."""
    if len(lower) > 2 and lower[2] in _VOWEL_SET and lower[:2] in ("gi", "qu"):
        onset_len = 2
    else:
        onset_len = 0
        for onset in _ONSETS:
            if lower.startswith(onset):
                onset_len = len(onset)
                break
    end = onset_len
    while end < len(lower) and lower[end] in _VOWEL_SET:
        end += 1
    nucleus, final = lower[onset_len:end], lower[end:]
    if nucleus not in _NUCLEI or final not in _FINALS:
        return None
    return onset_len, nucleus, final


def _tone_index(nucleus: str, final: str) -> int:
    """Index within the nucleus that carries the tone in the classic placement."""
    for i in range(len(nucleus) - 1, -1, -1):
        if nucleus[i] in _SHAPED:
            return i
    if final:
        return len(nucleus) - 1
    return 1 if len(nucleus) == 3 else 0


@lru_cache(maxsize=1 << 16)
def _retone_word(word: str) -> str:
    """Move the tone mark of one word to its classic position, or return the word as is."""
    if len(word) > _MAX_SYLLABLE or not word.isalpha():
        return word
    toned = [i for i, ch in enumerate(word) if ch in _UNTONE]
    if len(toned) != 1:
        return word
    old = toned[0]
    bare, mark = _UNTONE[word[old]]
    lower = (word[:old] + bare + word[old + 1 :]).lower()
    # A few letters (e.g. U+0130) change length when lowercased; indices must line up.
    parsed = _split_syllable(lower) if len(lower) == len(word) else None
    if parsed is None:
        return word
    onset_len, nucleus, final = parsed
    new = onset_len + _tone_index(nucleus, final)
    if new == old:
        return word
    chars = list(word)
    chars[old] = bare
    chars[new] = _RETONE[chars[new], mark]
    return "".join(chars)


# The capturing group makes re.split keep words and separators alike, so joining the
# pieces restores the text. '_' and digits stay inside the word so identifiers such as
# 'x_hoà' or 'hoà2' fail the isalpha() test and are left alone.
_WORD_SPLIT_RE = re.compile(r"(\w+)")
# When the text may hold URLs they are matched first, whole, so their paths are never retoned.
_URL_WORD_SPLIT_RE = re.compile(r"((?:https?://|www\.)\S+|\w+)")


def normalize(text: str | None) -> str:
    """Return clean() text with every tone mark in the classic position (hoà -> hòa)."""
    text = clean(text)
    if text.isascii():
        return text
    splitter = _URL_WORD_SPLIT_RE if "://" in text or "www." in text else _WORD_SPLIT_RE
    # Separators go through the cache too: one C-level map beats a per-match callback.
    return "".join(map(_retone_word, splitter.split(text)))


# ---------------------------------------------------------------------------- fold


def _fold_char(ch: str, keep_case: bool) -> str:
    """Fold one character to exactly one character (length preservation depends on it)."""
    if ch in "đĐ":
        return "D" if keep_case and ch == "Đ" else "d"
    base = "".join(
        c for c in unicodedata.normalize("NFD", ch) if not unicodedata.category(c).startswith("M")
    )
    if not keep_case:
        base = base.lower()
    if len(base) == 1:
        return base
    lowered = ch if keep_case else ch.lower()
    return lowered if len(lowered) == 1 else ch


class _FoldTable(dict[int, str]):
    """str.translate table that folds each code point once and remembers the result."""

    def __init__(self, keep_case: bool) -> None:
        super().__init__()
        self.keep_case = keep_case
        # Pre-populated so the common Vietnamese/Latin path never reaches __missing__.
        for cp in (*range(0x250), *range(0x1EA0, 0x1EFA)):
            self[cp] = _fold_char(chr(cp), keep_case)

    def __missing__(self, cp: int) -> str:
        out = _fold_char(chr(cp), self.keep_case)
        self[cp] = out
        return out


_FOLD_TABLE = _FoldTable(keep_case=False)
_STRIP_TABLE = _FoldTable(keep_case=True)


def fold(text: str | None) -> str:
    """Return a lowercase, diacritic-free copy with exactly one output char per input char."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD_TABLE)


def strip_accents(text: str | None) -> str:
    """Return text with diacritics removed and đ/Đ -> d/D, keeping case (Đà Nẵng -> Da Nang)."""
    if not text:
        return ""
    if text.isascii():
        return text
    return text.translate(_STRIP_TABLE)


def key(text: str | None) -> str:
    """Return the accent- and case-insensitive comparison key (hoà, HOA -> 'hoa')."""
    return " ".join(fold(normalize(text)).split())


# -------------------------------------------------------------------------- tokens

# FTS5 unicode61 (remove_diacritics=1) keeps these combining marks inside a token and drops
# them from the term; every other mark separates tokens, as Python's \W does. They only
# survive fold() when no precomposed letter exists (e.g. a doubled accent).
_FTS_DIACRITICS = (
    "\u0300-\u0304\u0306-\u030c\u030f\u0311\u031b\u0323-\u0328\u032d\u032e\u0330\u0331"
)
_FTS_DIACRITIC_RE = re.compile(f"[{_FTS_DIACRITICS}]+")
_EXTRA = f"{_FTS_DIACRITICS}\ue000-\uf8ff"
# A token is a run of letters/digits (not '_'), those diacritics and private-use characters,
# which unicode61 also indexes. Unrolled so the common all-letter run stays one class scan.
TOKEN_RE = re.compile(rf"(?:[^\W_]|[{_EXTRA}])[^\W_]*(?:[{_EXTRA}]+[^\W_]*)*")


def token_spans(folded: str) -> list[tuple[int, int, str]]:
    """Return (start, end, token) for each FTS5 unicode61 token of already-folded text."""
    spans = [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(folded)]
    if _FTS_DIACRITIC_RE.search(folded) is None:
        return spans
    stripped = [(start, end, _FTS_DIACRITIC_RE.sub("", tok)) for start, end, tok in spans]
    return [span for span in stripped if span[2]]


def tokens(text: str | None) -> list[str]:
    """Return the folded word tokens of text, split as SQLite FTS5 unicode61 splits them."""
    if not text:
        return []
    folded = fold(unicodedata.normalize("NFC", text))
    if _FTS_DIACRITIC_RE.search(folded) is None:
        return TOKEN_RE.findall(folded)
    return [tok for _, _, tok in token_spans(folded)]
