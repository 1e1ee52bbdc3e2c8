"""Legacy Vietnamese encodings: charset precedence, windows-1258, and TCVN3/VNI font text
that decodes "fine" as cp1252. Sentences are encoded here with our own inverse mappings."""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from crawlers.encoding import (
    charset_from_content_type,
    decode,
    decode_html,
    detect_legacy,
    legacy_to_unicode,
    repair_legacy,
    to_unicode,
)

SENTENCES = [
    "Trường Tiểu học Đồng Tâm thu tiền quỹ lớp sai quy định, phụ huynh bức xúc.",
    "Sở Giáo dục và Đào tạo Đà Nẵng yêu cầu chấn chỉnh việc dạy thêm, học thêm.",
    "Học sinh lớp 9 được nghỉ học ngày mai để tránh bão; các em ở nhà ôn bài.",
    "Nữ sinh bị đánh hội đồng, nhà trường đã mời phụ huynh đến làm việc.",
    "Khuya rồi, người giữ cổng trường vẫn thức canh những chiếc xe đạp cũ.",
]
TONES = {"\u0300": 0, "\u0301": 1, "\u0309": 2, "\u0303": 3, "\u0323": 4}

# --------------------------------------------------------------- our own encoders

# TCVN3 (TCVN 5712:1993 VN3) code points of the letters, as the standard lists them.
_TCVN3_BASES = {"ă": 0xA8, "â": 0xA9, "ê": 0xAA, "ô": 0xAB, "ơ": 0xAC, "ư": 0xAD, "đ": 0xAE}
_TCVN3_CAPS = {"Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7}
# base vowel -> bytes of (huyền, sắc, hỏi, ngã, nặng)
_TCVN3_TONED = {
    "a": (0xB5, 0xB8, 0xB6, 0xB7, 0xB9), "ă": (0xBB, 0xBE, 0xBC, 0xBD, 0xC6),
    "â": (0xC7, 0xCA, 0xC8, 0xC9, 0xCB), "e": (0xCC, 0xD0, 0xCE, 0xCF, 0xD1),
    "ê": (0xD2, 0xD5, 0xD3, 0xD4, 0xD6), "i": (0xD7, 0xDD, 0xD8, 0xDC, 0xDE),
    "o": (0xDF, 0xE3, 0xE1, 0xE2, 0xE4), "ô": (0xE5, 0xE8, 0xE6, 0xE7, 0xE9),
    "ơ": (0xEA, 0xED, 0xEB, 0xEC, 0xEE), "u": (0xEF, 0xF3, 0xF1, 0xF2, 0xF4),
    "ư": (0xF5, 0xF8, 0xF6, 0xF7, 0xF9), "y": (0xFA, 0xFD, 0xFB, 0xFC, 0xFE),
}  # fmt: skip
_SHAPES = {"\u0302": "^", "\u0306": "(", "\u031b": "+"}
_SHAPED = {("a", "^"): "â", ("a", "("): "ă", ("e", "^"): "ê", ("o", "^"): "ô"}
_SHAPED |= {("o", "+"): "ơ", ("u", "+"): "ư"}


def _split(ch: str) -> tuple[str, int | None]:
    """A letter as (toneless letter, tone index or None)."""
    parts = unicodedata.normalize("NFD", ch)
    tone = next((TONES[c] for c in parts if c in TONES), None)
    bare = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
    return bare, tone


def to_tcvn3(text: str) -> bytes:
    """Encode as an ABC font user typed it (VN3 has no toned capitals: they go lowercase)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        bare, tone = _split(ch)
        if tone is not None:
            out.append(_TCVN3_TONED[bare.lower()][tone])
        elif bare in _TCVN3_CAPS or bare in _TCVN3_BASES:
            out.append({**_TCVN3_CAPS, **_TCVN3_BASES}[bare])
        else:
            out += bare.encode("cp1252")
    return bytes(out)


# VNI Windows: tone marks ø ù û õ ï; â/ê (circumflex, breve) combined with tones; ơ ư đ
# and the toned i/ỵ are single characters.
_VNI_TONE = "øùûõï"
_VNI_CIRC = "àáåãä"
_VNI_BREVE = "èéúüë"
_VNI_I = "ìíæóò"


def to_vni(text: str) -> str:
    """Encode as VNI Windows text (returned as the cp1252 characters it is stored as)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        upper = ch.isupper()
        parts = unicodedata.normalize("NFD", ch.lower())
        tone = next((TONES[c] for c in parts if c in TONES), None)
        shape = next((_SHAPES[c] for c in parts if c in _SHAPES), None)
        base = parts[0]
        if ch.lower() == "đ":
            seq = "ñ"
        elif base == "i" and tone is not None:
            seq = _VNI_I[tone]
        elif base == "y" and tone == 4:
            seq = "î"
        elif shape == "+":
            seq = ("ô" if base == "o" else "ö") + (_VNI_TONE[tone] if tone is not None else "")
        elif shape == "^":
            seq = base + ("â" if tone is None else _VNI_CIRC[tone])
        elif shape == "(":
            seq = base + ("ê" if tone is None else _VNI_BREVE[tone])
        elif tone is not None:
            seq = base + _VNI_TONE[tone]
        else:
            seq = ch.lower()
        out.append(seq.upper() if upper else seq)
    return "".join(out)


def to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: shaped letters precomposed, tone marks combining."""
    return "".join(
        _split(ch)[0] + ("" if _split(ch)[1] is None else list(TONES)[_split(ch)[1]])  # type: ignore[index]
        for ch in unicodedata.normalize("NFC", text)
    ).encode("cp1258")


ALPHABET = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"

# ------------------------------------------------------------------------ tests


@pytest.mark.parametrize(
    ("byte", "letter"),
    [(0xB5, "à"), (0xB8, "á"), (0xB9, "ạ"), (0xAD, "ư"), (0xAC, "ơ"), (0xAE, "đ"), (0xA7, "Đ"),
     (0xA6, "Ư"), (0xCA, "ấ"), (0xD5, "ế"), (0xE8, "ố"), (0xED, "ớ"), (0xF8, "ứ"), (0xF7, "ữ"),
     (0xDC, "ĩ"), (0xF2, "ũ"), (0xFD, "ý"), (0xFE, "ỵ"), (0xC6, "ặ"), (0xBE, "ắ")],
)  # fmt: skip
def test_tcvn3_code_points_follow_the_standard(byte: int, letter: str) -> None:
    # when / then
    assert legacy_to_unicode(bytes([byte]).decode("cp1252"), "tcvn3") == letter


def test_every_vietnamese_letter_round_trips_through_tcvn3_and_vni() -> None:
    # given: each letter on its own between ASCII letters, lower and upper case (VNI)
    for letter in ALPHABET:
        word = f"x{letter}x"
        # when / then
        assert legacy_to_unicode(to_tcvn3(word).decode("cp1252"), "tcvn3") == word
        assert legacy_to_unicode(to_vni(word), "vni") == word
        assert legacy_to_unicode(to_vni(word.upper()), "vni") == word.upper()


@pytest.mark.parametrize("sentence", SENTENCES)
def test_tcvn3_text_is_detected_and_converted(sentence: str) -> None:
    # given: what a cp1252 decoder makes of an ABC-font sentence
    garbled = to_tcvn3(sentence).decode("cp1252")
    # when / then
    assert detect_legacy(garbled) == "tcvn3"
    assert repair_legacy(garbled) == sentence


@pytest.mark.parametrize("sentence", SENTENCES)
def test_vni_text_is_detected_and_converted(sentence: str) -> None:
    # given
    garbled = to_vni(sentence)
    # when / then
    assert detect_legacy(garbled) == "vni"
    assert repair_legacy(garbled) == sentence
    assert repair_legacy(to_vni(sentence.upper())) == sentence.upper()


@pytest.mark.parametrize(
    "text",
    [
        *SENTENCES,
        "Bà Rá", "Tôi là", "Hôm nay tôi đi học",
        "Café au lait à Paris, señor Müller; Größe ©2024 ® 30°C ±2 «quoted» ½",
        "Español: el niño y el año; Français: l'été à Noël; Dansk: smørrebrød, København",
        "",
    ],
)  # fmt: skip
def test_unicode_and_western_text_is_left_alone(text: str) -> None:
    # when / then
    assert detect_legacy(text) is None
    assert repair_legacy(text) == text


def test_a_page_mixing_unicode_and_tcvn3_converts_only_the_legacy_words() -> None:
    # given: a Unicode menu around an article pasted from an ABC-font document
    article = " ".join(SENTENCES[:3])
    page = "Trang chủ | Giáo dục | Liên hệ\n" + to_tcvn3(article).decode("cp1252")
    # when / then
    assert repair_legacy(page) == "Trang chủ | Giáo dục | Liên hệ\n" + article


def test_charset_precedence_bom_then_http_then_document() -> None:
    # given
    text = SENTENCES[0]
    meta_1258 = b'<meta charset="windows-1258"><p>'
    # when / then: a BOM beats a wrong header; a header beats the document; the document
    # is used when the header says nothing
    assert decode(codecs.BOM_UTF8 + text.encode(), "windows-1258").text == text
    via_header = decode(b"<meta charset=utf-8><p>" + to_cp1258(text), "windows-1258")
    assert (via_header.encoding, via_header.source) == ("cp1258", "http")
    assert text in via_header.text
    via_meta = decode(meta_1258 + to_cp1258(text))
    assert (via_meta.encoding, via_meta.source) == ("cp1258", "document") and text in via_meta.text
    xml = b'<?xml version="1.0" encoding="windows-1258"?><t>' + to_cp1258(text) + b"</t>"
    assert text in decode_html(xml)


def test_windows_1258_output_is_composed_nfc() -> None:
    # when
    out = decode(to_cp1258(SENTENCES[1]), "cp1258").text
    # then: cp1258 keeps tone marks as combining characters; we compose them
    assert out == SENTENCES[1] and unicodedata.is_normalized("NFC", out)
    assert not any(unicodedata.combining(c) for c in out)


def test_undeclared_or_misdeclared_bytes_are_guessed() -> None:
    # given
    text = SENTENCES[2]
    # when
    plain = decode(text.encode())
    legacy = decode(to_cp1258(text))
    latin1_label = decode(text.encode(), "ISO-8859-1")
    broken_utf8 = decode(to_cp1258(text), "utf-8")
    unknown = decode(text.encode(), "x-no-such-charset")
    # then
    assert (plain.text, plain.encoding, plain.source) == (text, "utf-8", "utf-8")
    assert (legacy.text, legacy.encoding, legacy.source) == (text, "cp1258", "guess")
    assert (latin1_label.text, latin1_label.encoding) == (text, "utf-8")
    assert (broken_utf8.text, broken_utf8.encoding) == (text, "cp1258")
    assert unknown.text == text


def test_font_encoded_pages_are_repaired_whatever_their_charset() -> None:
    # given: an ABC-font page served as ISO-8859-1, VNI text saved in a UTF-8 page, and
    # pages whose charset label names the font encoding
    text = SENTENCES[3]
    # when
    tcvn = decode(b"<p>" + to_tcvn3(text) + b"</p>", "iso-8859-1")
    vni = decode(f"<p>{to_vni(text)}</p>".encode(), "utf-8")
    labelled = decode(b'<meta charset="TCVN3"><p>' + to_tcvn3(text) + b"</p>")
    vni_label = to_unicode(to_vni(text).encode("cp1252"), "text/html; charset=VNI-Windows")
    # then
    assert (tcvn.text, tcvn.legacy, tcvn.vietnamese_legacy) == (f"<p>{text}</p>", "tcvn3", True)
    assert (vni.text, vni.legacy) == (f"<p>{text}</p>", "vni")
    assert labelled.encoding == "tcvn3" and text in labelled.text
    assert vni_label == text


def test_utf8_xml_rewrites_the_declaration() -> None:
    # given
    xml = b"<?xml version='1.0' encoding='windows-1258'?><t>" + to_cp1258("Đắk Lắk") + b"</t>"
    # when
    out = decode(xml).utf8_xml()
    # then
    assert out == "<?xml version='1.0' encoding=\"utf-8\"?><t>Đắk Lắk</t>".encode()


@pytest.mark.parametrize(
    ("header", "charset"),
    [
        ("text/html; charset=windows-1258", "windows-1258"),
        ('application/rss+xml; Charset="UTF-8"', "UTF-8"),
        ("text/html", None),
        (None, None),
        ("text/html; charset=", None),
    ],
)
def test_charset_from_content_type(header: str | None, charset: str | None) -> None:
    # when / then
    assert charset_from_content_type(header) == charset


def test_utf8_page_with_a_few_stray_bytes_stays_utf8() -> None:
    # given a UTF-8 page that ends with two bytes that are not UTF-8
    page = '<meta charset="utf-8"><p>Sở Giáo dục và Đào tạo tỉnh thông báo lịch thi</p>'.encode()
    # when
    text = decode_html(page + b"\xff\xfe")
    # then the Vietnamese text is intact and only the stray bytes are replaced
    assert "Sở Giáo dục và Đào tạo" in text
    assert text.count("\ufffd") == 2
