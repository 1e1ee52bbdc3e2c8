"""Bytes to Unicode for crawled pages and feeds, legacy Vietnamese encodings included.

Charset precedence: byte-order mark, then the HTTP header, then the document's own XML
declaration or <meta>, then UTF-8 when the bytes are valid UTF-8, then the best of cp1252 and
windows-1258 for Vietnamese. Windows-1258 keeps tone marks as combining characters, so
everything is NFC-composed. Text typed in the TCVN3 (ABC, TCVN 5712:1993 VN3) or VNI Windows
font encodings decodes "fine" as cp1252 into mojibake ("Tr­êng häc", "Tröôøng hoïc"); it is
recognised by the words it makes and converted with the full tables below."""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Decoded",
    "charset_from_content_type",
    "decode",
    "decode_html",
    "detect_legacy",
    "legacy_to_unicode",
    "repair_legacy",
    "sniff_charset",
    "to_unicode",
]

# --------------------------------------------------------------------------- tables

# TCVN 5712:1993, bytes 0xA0-0xFF (VN3 plus the VN1/VN2 capitals that sit in this range).
# 0x80-0x9F are left to cp1252: Windows text in ABC fonts keeps its curly quotes and dashes
# there. 0xB0-0xB4 (VN1's combining tone marks) are left too: VN3 fonts do not use them and
# "30°C" must survive.
_TCVN3_A0_FF = (
    "\u00a0ĂÂÊÔƠƯĐăâêôơưđẰ"  # A0-AF
    "°±²³´àảãáạẲằẳẵắẴ"  # B0-BF
    "ẮẦẨẪẤỀặầẩẫấậèỂẻẽ"  # C0-CF
    "éẹềểễếệìỉỄẾỒĩíịò"  # D0-DF
    "Ổỏõóọồổỗốộờởỡớợù"  # E0-EF
    "ỖủũúụừửữứựỳỷỹýỵỐ"  # F0-FF
)
_TCVN3_TABLE = {0xA0 + i: ch for i, ch in enumerate(_TCVN3_A0_FF) if ord(ch) != 0xA0 + i}

# VNI Windows: a base letter followed by a mark character; a few letters are one character.
_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE = "\u0302", "\u0306"
# mark character (lowercase form) -> (shape mark, tone mark) it adds to the base letter
_VNI_MARKS = {
    "ø": ("", _GRAVE), "ù": ("", _ACUTE), "û": ("", _HOOK), "õ": ("", _TILDE), "ï": ("", _DOT),
    "â": (_CIRC, ""), "à": (_CIRC, _GRAVE), "á": (_CIRC, _ACUTE), "å": (_CIRC, _HOOK),
    "ã": (_CIRC, _TILDE), "ä": (_CIRC, _DOT),
    "ê": (_BREVE, ""), "è": (_BREVE, _GRAVE), "é": (_BREVE, _ACUTE), "ú": (_BREVE, _HOOK),
    "ü": (_BREVE, _TILDE), "ë": (_BREVE, _DOT),
}  # fmt: skip
_TONES_ONLY = "øùûõï"
# base character in VNI text -> (Unicode letter, the marks it accepts)
_VNI_BASES = {
    "a": ("a", "".join(_VNI_MARKS)),
    "e": ("e", _TONES_ONLY + "âàáåãä"),
    "o": ("o", _TONES_ONLY + "âàáåãä"),
    "u": ("u", _TONES_ONLY),
    "y": ("y", "øùûõ"),
    "ô": ("ơ", _TONES_ONLY),
    "ö": ("ư", _TONES_ONLY),
}
_VNI_SINGLES = {"ñ": "đ", "ô": "ơ", "ö": "ư", "ì": "ì", "í": "í", "æ": "ỉ", "ó": "ĩ", "ò": "ị"}
_VNI_SINGLES["î"] = "ỵ"


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {}
    for base, (letter, accepted) in _VNI_BASES.items():
        for mark in accepted:
            shape, tone = _VNI_MARKS[mark]
            lower = unicodedata.normalize("NFC", letter + shape + tone)
            table[base + mark] = lower
            # Capitals take the capital mark glyphs; a capital base with a small mark also
            # occurs (title case typed with the small mark key).
            table[base.upper() + mark.upper()] = lower.upper()
            table[base.upper() + mark] = lower.upper()
    for char, letter in _VNI_SINGLES.items():
        table[char], table[char.upper()] = letter, letter.upper()
    return table


_VNI_TABLE = _build_vni()
_VNI_RE = re.compile("|".join(sorted(map(re.escape, _VNI_TABLE), key=len, reverse=True)))

# ------------------------------------------------------------------ Vietnamese words

_TONE_MARKS = frozenset((_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT))
_NUCLEI = (
    *("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay"),
    *("âu", "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi", "oo", "ôi", "ơi"),
    *("ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ưu", "ươ", "yê", "iêu", "yêu"),
    *("oai", "oao", "oay", "oeo", "uây", "uôi", "ươi", "ươu", "uya", "uyê", "uyu"),
)
_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|kh|ph|th|tr|gi|qu|[bcdđghklmnprstvx])?"
    rf"(?P<nucleus>{'|'.join(sorted(_NUCLEI, key=len, reverse=True))})"
    r"(?P<final>ch|ng|nh|[cmnptk])?"
)
# Letters only Unicode Vietnamese has (no legacy mojibake produces them).
_UNICODE_VN_RE = re.compile("[ăĂđĐĩĨũŨơƠưƯ\u1ea0-\u1ef9]")
# Characters that legacy-font text produces and Unicode Vietnamese never contains: TCVN3's
# symbols and VNI's mark letters. No such character, no legacy text (the cheap first test).
_MARKERS_RE = re.compile(
    "[\u00a1-\u00bf\u00c4-\u00c7\u00cb\u00ce-\u00d1\u00d6-\u00d8\u00db\u00dc\u00de\u00df"
    "\u00e4-\u00e7\u00eb\u00ee-\u00f1\u00f6-\u00f8\u00fb\u00fc\u00fe\u00ff]"
)
# A "word" of possibly-legacy text: letters plus the symbols TCVN3 uses as letters.
_WORD_RE = re.compile(r"(?:[^\W\d_]|[\u00a1-\u00bf\u00d7\u00f7])+")
LEGACY_ENCODINGS = ("tcvn3", "vni")


@lru_cache(maxsize=1 << 16)
def is_syllable(word: str) -> bool:
    """Whether `word` is one well-formed Vietnamese syllable (any case, at most one tone)."""
    parts = unicodedata.normalize("NFD", word.lower())
    tones = [c for c in parts if c in _TONE_MARKS]
    if len(tones) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
    match = _SYLLABLE_RE.fullmatch(bare)
    if match is None:
        return False
    # "oo" only occurs closed (xoong, soóc).
    if match["nucleus"] == "oo" and not match["final"]:
        return False
    # Syllables closed by a stop (c, ch, p, t) only carry the sắc or nặng tone.
    if match["final"] in ("c", "ch", "p", "t", "k"):
        return bool(tones) and tones[0] in (_ACUTE, _DOT)
    return True


def _vietnamese_words(text: str) -> int:
    """How many accented words of `text` are Vietnamese syllables (a charset's score)."""
    return sum(1 for w in _WORD_RE.findall(text) if not w.isascii() and is_syllable(w))


# ---------------------------------------------------------------- legacy detection


def legacy_to_unicode(text: str, encoding: str) -> str:
    """Convert TCVN3 ("tcvn3") or VNI ("vni") mojibake to NFC Unicode, word by word. Pages
    mix the two, so a word holding letters only Unicode has, or a Vietnamese word whose
    conversion would not be one ("Giáo" is not TCVN3 for "Giỏo"), is left alone."""
    if encoding not in LEGACY_ENCODINGS:
        raise ValueError(f"unknown legacy encoding {encoding!r}")

    def convert(match: re.Match[str]) -> str:
        word = match.group()
        if word.isascii() or _UNICODE_VN_RE.search(word):
            return word
        converted = _convert_word(word, encoding)
        if is_syllable(word) and not is_syllable(unicodedata.normalize("NFC", converted)):
            return word
        return converted

    return unicodedata.normalize("NFC", _WORD_RE.sub(convert, text))


@lru_cache(maxsize=1 << 16)
def _convert_word(word: str, encoding: str) -> str:
    if encoding == "tcvn3":
        return word.translate(_TCVN3_TABLE)
    return _VNI_RE.sub(lambda m: _VNI_TABLE[m.group()], word)


def detect_legacy(text: str) -> str | None:
    """ "tcvn3" or "vni" when the text reads as that font encoding's mojibake, else None.

    A word is evidence when it is not Vietnamese as it stands but becomes a Vietnamese
    syllable once converted; a changed word that is still not Vietnamese counts against."""
    if not text or _MARKERS_RE.search(text) is None:
        return None
    unicode_words, scores = 0, {enc: [0, 0] for enc in LEGACY_ENCODINGS}
    for word in _WORD_RE.findall(text):
        if word.isascii():
            continue
        if _UNICODE_VN_RE.search(word):
            unicode_words += 1
            continue
        if is_syllable(word):
            continue
        for enc, score in scores.items():
            converted = _convert_word(word, enc)
            if converted != word:
                score[0 if is_syllable(unicodedata.normalize("NFC", converted)) else 1] += 1
    enc, (good, bad) = max(scores.items(), key=lambda kv: kv[1][0])
    # Two words at least, three good for each bad one, and clearly more than Unicode words.
    if good >= 2 and good >= 3 * bad and good > 2 * unicode_words:
        return enc
    return None


def repair_legacy(text: str) -> str:
    """`text` with TCVN3/VNI mojibake converted, or unchanged when it does not look like it."""
    encoding = detect_legacy(text)
    return legacy_to_unicode(text, encoding) if encoding else text


# ------------------------------------------------------------------------ decoding

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG: these labels all mean windows-1252 on the web.
_WESTERN = frozenset(
    ("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp1252",
     "windows-1252", "x-cp1252", "cp819", "ibm819", "iso-ir-100", "csisolatin1")
)  # fmt: skip
_ALIASES = {
    **dict.fromkeys(("windows-1258", "cp1258", "x-cp1258"), "cp1258"),
    **dict.fromkeys(
        (
            "tcvn",
            "tcvn3",
            "tcvn-3",
            "tcvn5712",
            "tcvn-5712",
            "tcvn5712-1",
            "tcvn5712-3",
            "vn3",
            "abc",
            "x-viet-tcvn",
            "x-viet-tcvn5712",
        ),
        "tcvn3",
    ),  # fmt: skip
    **dict.fromkeys(("vni", "vni-windows", "x-viet-vni"), "vni"),
    **dict.fromkeys(_WESTERN, "cp1252"),
}
_XML_DECL_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META_RE = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_SNIFF_BYTES = 4096


def _lenient(error: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; browsers map them to C1 controls.
    assert isinstance(error, UnicodeDecodeError)
    return "".join(map(chr, error.object[error.start : error.end])), error.end


codecs.register_error("diemtin-latin1", _lenient)


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'")
    return None


def sniff_charset(data: bytes) -> str | None:
    """The charset named by the document itself: XML declaration or HTML <meta>."""
    head = data[:_SNIFF_BYTES]
    match = _XML_DECL_RE.match(head) or _META_RE.search(head)
    return match.group(1).decode("ascii") if match else None


def _codec(label: str | None) -> str | None:
    """Our name for a charset label: a Python codec, "tcvn3" or "vni"; None if unknown."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _decode_with(data: bytes, codec: str) -> str:
    if codec in LEGACY_ENCODINGS:
        # Font encodings are cp1252 bytes shown in a Vietnamese font; convert every word.
        return legacy_to_unicode(data.decode("cp1252", "diemtin-latin1"), codec)
    errors = "diemtin-latin1" if codec == "cp1252" else "replace"
    return data.decode(codec, errors)


@dataclass
class Decoded:
    """Decoded text and how it was decoded."""

    text: str
    # A Python codec name, or "tcvn3"/"vni" when the charset itself named a font encoding.
    encoding: str
    # "bom", "http", "document", "utf-8" (valid UTF-8, nothing declared) or "guess".
    source: str
    # "tcvn3"/"vni" when the words were font-encoding mojibake and were converted.
    legacy: str | None = None

    @property
    def vietnamese_legacy(self) -> bool:
        """True when a legacy Vietnamese charset or font encoding was decoded."""
        return self.legacy is not None or self.encoding in ("cp1258", *LEGACY_ENCODINGS)

    def utf8_xml(self) -> bytes:
        """The text as UTF-8 bytes, its XML declaration (if any) saying so."""
        text = re.sub(
            r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""",
            r'\1"utf-8"',
            self.text.lstrip("\ufeff"),
            count=1,
        )
        return text.encode("utf-8")


def _guess(data: bytes) -> tuple[str, str]:
    """(codec, text) for bytes whose charset is unknown or wrongly declared Western."""
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few stray bytes (a truncated upload, one bad paste) is still UTF-8: in a
    # real cp1252/cp1258 page almost no non-ASCII byte run forms a valid UTF-8 character.
    lenient = data.decode("utf-8", "replace")
    bad = lenient.count("\ufffd")
    valid = sum(1 for ch in lenient if ch > "\x7f") - bad
    if valid >= 4 * bad:
        return "utf-8", lenient
    western = data.decode("cp1252", "diemtin-latin1")
    vietnamese = unicodedata.normalize("NFC", data.decode("cp1258", "replace"))
    if _vietnamese_words(vietnamese) > _vietnamese_words(western):
        return "cp1258", vietnamese
    return "cp1252", western


def decode(data: bytes, declared: str | None = None) -> Decoded:
    """Decode page or feed bytes; `declared` is the charset from the HTTP header, if any."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text, source = data[len(bom) :].decode(codec, "replace"), "bom"
            break
    else:
        codec, source = _codec(declared) or "", "http"
        if not codec:
            codec, source = _codec(sniff_charset(data)) or "", "document"
        if codec == "cp1252" or not codec:
            # Western labels are the classic misconfiguration of Vietnamese sites, and no
            # label leaves us guessing: valid UTF-8 wins, then cp1252 vs windows-1258.
            guessed, text = _guess(data)
            if not codec or guessed != "cp1252":
                source = "utf-8" if guessed == "utf-8" and not codec else "guess"
            codec = guessed
        elif codec == "utf-8":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                codec, text = _guess(data)
                source = "guess"
        else:
            text = _decode_with(data, codec)
    text = unicodedata.normalize("NFC", text)
    legacy = None if codec in LEGACY_ENCODINGS else detect_legacy(text)
    if legacy:
        text = legacy_to_unicode(text, legacy)
    return Decoded(text=text, encoding=codec, source=source, legacy=legacy)


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Unicode (NFC) text of an HTML/XML document's bytes; see the module docstring."""
    return decode(data, declared).text


def to_unicode(data: bytes, content_type_header: str | None) -> str:
    """decode_html with the charset taken from a Content-Type header."""
    return decode(data, charset_from_content_type(content_type_header)).text
