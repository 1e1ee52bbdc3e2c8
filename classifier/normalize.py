"""Model-input normalisation: core.text.normalize plus social-media spellings (teencode).

The classifier sees press articles and reader comments alike; comments write "ko dc" for
"không được" and "quáaaa" for "quá". Mapping the common forms onto the standard words lets
the model (and the n-gram features) treat both the same. Replacements are whole words only,
and the one-letter forms (k, j, r) only in lowercase, so "R&D", "J.K." and "50k" are left
alone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from core.text import fold
from core.text import normalize as normalize_text

__all__ = ["TEENCODE", "model_input", "normalize_for_model", "prepare_text", "truncate_words"]

# Social-media spelling -> standard word. Only unambiguous forms: "bn" (bạn / bao nhiêu),
# "trg" (trường / trong), "đt" (điện thoại / đào tạo) and "gd" (giáo dục / gia đình) are
# deliberately absent.
TEENCODE: dict[str, str] = {
    "ko": "không", "k": "không", "hok": "không", "hông": "không", "khong": "không",
    "kg": "không", "kh": "không", "hk": "không",
    "dc": "được", "đc": "được", "dk": "được", "đk": "được",
    "hs": "học sinh", "gv": "giáo viên", "ph": "phụ huynh", "sv": "sinh viên",
    "bgd": "bộ giáo dục", "bgdđt": "bộ giáo dục và đào tạo", "bgd&đt": "bộ giáo dục và đào tạo",
    "sgk": "sách giáo khoa",
    "j": "gì", "vs": "với", "ns": "nói", "r": "rồi", "rùi": "rồi", "ròi": "rồi",
    "mik": "mình", "mk": "mình", "mjk": "mình", "bít": "biết", "bik": "biết",
    "cx": "cũng", "cg": "cũng", "ntn": "như thế nào", "lun": "luôn", "thik": "thích",
    "wá": "quá", "ng": "người", "z": "vậy", "zậy": "vậy", "vậyy": "vậy",
}  # fmt: skip
# One-letter forms collide with initials and units; they only count in lowercase.
_LOWERCASE_ONLY = frozenset(k for k in TEENCODE if len(k) == 1)

# A word is letters (any script) plus '&' inside, so "bgd&đt" is one word and "R&D" is not "R".
_WORD_RE = re.compile(r"(?<![\w&])[^\W\d_]+(?:&[^\W\d_]+)*(?![\w&])")
# Emoticons: eyes, optional nose, then a run of one mouth character. The run is kept once
# and spaced off, so "vui quá:)))" gives the token ":)" however many brackets were typed.
# Slashes are not mouths: "https://" must survive.
_EMOTICON_RE = re.compile(r"([:;=])(['\-^o]?)([()DPpOo3|\[\]*<>])\3*(?![\w/])")
_XD_RE = re.compile(r"(?<!\w)[xX]D+(?!\w)")
_HEART_RE = re.compile(r"(?<![\w<])<3+(?!\d)")
# The same emoji typed many times carries no more meaning than three.
_EMOJI_RUN_RE = re.compile(r"([\U0001F300-\U0001FAFF\u2600-\u27BF])\1{3,}")
_PUNCT_RUN_RE = re.compile(r"([!?.])\1{3,}")
_SPACES_RE = re.compile(r"[ \t]{2,}")
# URLs and e-mail addresses pass through untouched ("a.vn/k/r" must not become "không/rồi").
_URL_RE = re.compile(r"((?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def _collapse_repeats(word: str) -> str:
    """Collapse a run of 3+ letters with the same base letter into its first letter."""
    if len(word) < 3:
        return word
    base = fold(word)
    if len(base) != len(word):
        return word
    out: list[str] = []
    i = 0
    while i < len(word):
        j = i + 1
        while j < len(word) and base[j] == base[i]:
            j += 1
        # Two in a row is legitimate Vietnamese ("xoong", "boong"); three never is.
        out.append(word[i] if j - i >= 3 else word[i:j])
        i = j
    return "".join(out)


def _replace_word(match: re.Match[str]) -> str:
    return _standard_word(match.group())


# Articles repeat the same few thousand syllables: each word's answer is remembered. With the
# all-standard shortcut in _normalize_plain, 256 2,000-character articles went from 0.27 to
# 0.13 s (timed once; bench/classifier_speed.py measures the whole service path).
@lru_cache(maxsize=1 << 16)
def _standard_word(word: str) -> str:
    word = _collapse_repeats(word)
    lower = word.lower()
    if lower in _LOWERCASE_ONLY and word != lower:
        return word
    return TEENCODE.get(lower, word)


def _emoticon(match: re.Match[str]) -> str:
    eyes, nose, mouth = match.groups()
    return f" {eyes}{nose}{mouth} "


def normalize_for_model(text: str | None) -> str:
    """Return core.text.normalize(text) with teencode expanded and repeated letters collapsed."""
    text = normalize_text(text)
    if not text:
        return ""
    if "://" in text or "www." in text or "@" in text:
        pieces = _URL_RE.split(text)
        # re.split with one group alternates text and URL: odd indices are the URLs.
        text = "".join(p if i % 2 else _normalize_plain(p) for i, p in enumerate(pieces))
    else:
        text = _normalize_plain(text)
    return _SPACES_RE.sub(" ", text).strip()


def _normalize_plain(text: str) -> str:
    """Emoticons, runs and teencode on text that holds no URL."""
    text = _HEART_RE.sub(" <3 ", text)
    text = _EMOTICON_RE.sub(_emoticon, text)
    text = _XD_RE.sub(" xD ", text)
    text = _EMOJI_RUN_RE.sub(r"\1\1\1", text)
    text = _PUNCT_RUN_RE.sub(r"\1\1\1", text)
    # Most texts (press articles) have no word to change: finding that out from the set of
    # words is 3x cheaper than a Python call for every word in re.sub.
    if all(_standard_word(w) == w for w in set(_WORD_RE.findall(text))):
        return text
    return _WORD_RE.sub(_replace_word, text)


def truncate_words(text: str, max_chars: int) -> str:
    """Cut text to at most max_chars, at a word boundary when one is near the end."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    # Only back off to a space in the last fifth: a long unbroken token is cut mid-way.
    return cut[:space].rstrip() if space > max_chars * 0.8 else cut


def model_input(title: str | None, lead: str | None, body: str | None, max_chars: int) -> str:
    """Join title, lead and the start of the body into one normalised model input.

    The title and lead always come first (they carry most of the signal and the encoder
    only reads the first few hundred tokens); the body fills what is left of max_chars.
    """
    parts: list[str] = []
    budget = max_chars
    for part in (title, lead, body):
        # Cap the raw text first so a megabyte body never goes through normalisation.
        norm = normalize_for_model((part or "")[: budget * 2 + 64])
        if not norm or budget <= 0:
            continue
        piece = truncate_words(norm, budget)
        parts.append(piece)
        budget -= len(piece) + 1
    return "\n".join(parts)


def prepare_text(text: Any, max_chars: int) -> str:
    """Any input -> bounded, valid, normalised model text ('' when nothing is left)."""
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    text = str(text)[: max_chars * 4]
    # Lone surrogates cannot be encoded for the tokenizer; replace them.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return truncate_words(normalize_for_model(text), max_chars)
