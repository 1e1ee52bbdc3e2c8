"""Tests for core.text: cleaning, tone normalisation, folding and FTS5-compatible tokens."""

from __future__ import annotations

import random
import sqlite3
import unicodedata
from collections.abc import Iterator

import pytest

from core.text import TOKEN_RE, clean, fold, key, normalize, strip_accents, token_spans, tokens

# ------------------------------------------------------------------------------ clean


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   \n\t ", ""),
        ("Hà\u00a0Nội", "Hà Nội"),  # NBSP
        ("Hà\u3000Nội\u2009mới", "Hà Nội mới"),  # other Zs spaces
        ("Hà\u200bNội", "HàNội"),  # zero-width space
        ("Hà\u200dNội\u200c", "HàNội"),  # ZWJ / ZWNJ
        ("\ufeffTin nóng", "Tin nóng"),  # BOM
        ("giáo\u00addục", "giáodục"),  # soft hyphen
        ("a\x00b\x07c\x1bd\x7fe", "abcde"),  # C0/DEL controls
        ("dòng 1\r\ndòng 2\rdòng 3", "dòng 1\ndòng 2\ndòng 3"),
        ("cột\tmột\t\tcột hai", "cột một cột hai"),
        ("quá    nhiều   khoảng trắng", "quá nhiều khoảng trắng"),
        ("  đầu dòng \n  cuối dòng  ", "đầu dòng\ncuối dòng"),
        ("đoạn 1\n\n\n\n\nđoạn 2", "đoạn 1\n\nđoạn 2"),
        ("đoạn 1\n \n\t\n \nđoạn 2", "đoạn 1\n\nđoạn 2"),
        ("trang 1\x0ctrang 2", "trang 1\ntrang 2"),  # form feed breaks the line, not the word
        ("ho\u0061\u0300", "hoà"),  # NFD -> NFC
        ("hoa\u200b\u0300", "hoà"),  # zero-width char must not block composition
    ],
)
def test_clean(raw: str | None, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_is_idempotent_and_keeps_plain_text() -> None:
    # given
    text = "Sở GD&ĐT tỉnh Lâm Đồng.\n\nThông báo “khẩn” – số 12/2024."
    # when
    once = clean(text)
    # then
    assert once == text
    assert clean(once) == once


# -------------------------------------------------------------------------- normalize

CANONICAL_WORDS = (
    "người", "muốn", "tiếng", "khuyến", "hoàn", "toán", "quý", "già", "gì", "giữ", "mùa",
    "của", "ngoài", "xoáy", "khuỷu", "hoạch", "cứu", "yếu", "Quốc", "Giáo", "dục", "ĐÀ",
    "NẴNG", "hòa", "thủy", "khỏe", "lòa", "mía", "múa", "giường", "nghiêng", "quyết",
    "chuyện", "Nguyễn", "khuấy", "rượu", "thuở", "huỳnh", "huýt", "xoắn", "thuế", "Đắk",
    "Lắk", "giúp", "gìn", "ý", "yên",
)  # fmt: skip


@pytest.mark.parametrize("word", CANONICAL_WORDS)
def test_normalize_keeps_classic_placement(word: str) -> None:
    assert normalize(word) == word


@pytest.mark.parametrize(
    ("modern", "classic"),
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("loà", "lòa"),
        ("tuỳ", "tùy"),
        ("uỷ", "ủy"),
        ("oà", "òa"),
        ("hoè", "hòe"),
        ("Thuý", "Thúy"),
        ("hoạ", "họa"),
        # misplaced marks are repaired too
        ("gìa", "già"),
        ("qúy", "quý"),
        ("thủơ", "thuở"),
        ("ngòai", "ngoài"),
        ("khủyu", "khuỷu"),
        ("múôn", "muốn"),
        ("ngừơi", "người"),
    ],
)
def test_normalize_moves_tone_to_classic_position(modern: str, classic: str) -> None:
    assert normalize(modern) == classic
    assert normalize(classic) == classic


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HOÀ", "HÒA"),
        ("Hoà", "Hòa"),
        ("hOà", "hÒa"),
        ("THUỶ", "THỦY"),
        ("KHOẺ MẠNH", "KHỎE MẠNH"),
        ("Khánh Hoà", "Khánh Hòa"),
    ],
)
def test_normalize_preserves_case(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "café",
        "José Mourinho",
        "résumé naïve über",
        "não",
        "Hello world 2024",
        "hoà2 x_hoà",
        "https://example.vn/tin/hoà-bình?q=thuỷ",
        "xem www.example.vn/thuỷ-điện",
        "ǹ ḿ",
    ],
)
def test_normalize_leaves_non_vietnamese_words_untouched(text: str) -> None:
    assert normalize(text) == text


def test_normalize_decomposed_input_matches_precomposed() -> None:
    # given 'hoà' and 'thuỷ' typed with combining marks (NFD)
    nfd = "ho" + "a\u0300" + " thuy\u0309 " + unicodedata.normalize("NFD", "Khánh Hoà")
    # when
    result = normalize(nfd)
    # then
    assert result == normalize("hoà thuỷ Khánh Hoà") == "hòa thủy Khánh Hòa"


def test_normalize_sentence() -> None:
    # given
    text = "Trường  THPT Hoà Bình\u00a0(Khánh Hoà) tuỳ tình hình sẽ cho học sinh nghỉ.\r\n"
    # when / then
    assert normalize(text) == "Trường THPT Hòa Bình (Khánh Hòa) tùy tình hình sẽ cho học sinh nghỉ."
    assert normalize(None) == ""
    assert normalize(normalize(text)) == normalize(text)


def test_normalize_only_moves_tone_marks_on_random_words() -> None:
    rng = random.Random(42)
    letters = "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợ"
    letters += "pqrstuùủũúụưừửữứựvxyỳỷỹýỵ"
    for _ in range(2000):
        # given a random letter string, often not a real syllable
        word = "".join(rng.choice(letters) for _ in range(rng.randint(1, 6)))
        # when
        result = normalize(word)
        # then only the tone position may change, and a second pass changes nothing
        assert fold(result) == fold(word)
        assert normalize(result) == result


# ------------------------------------------------------------------------------- fold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Giáo dục Đà Nẵng", "giao duc da nang"),
        ("ĐỒNG THÁP", "dong thap"),
        ("Nguyễn Thị Hường", "nguyen thi huong"),
        ("Ưu tiên ĂN Ở", "uu tien an o"),
        ("Straße İstanbul", "straße istanbul"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold(text: str | None, expected: str) -> None:
    assert fold(text) == expected


def test_fold_ignores_tone_placement() -> None:
    assert fold(normalize("thuỷ")) == fold("thủy") == fold("thuỷ") == "thuy"


def _random_vietnamese(rng: random.Random, length: int) -> str:
    letters = "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợ"
    letters += "pqrstuùủũúụưừửữứựvxyỳỷỹýỵ"
    extras = " ,.;:!?-–“”()0123456789\n\tİßﬁ한ǅ€😀\u0301"
    pool = letters + letters.upper() + extras
    return "".join(rng.choice(pool) for _ in range(length))


def test_fold_preserves_length_and_positions() -> None:
    rng = random.Random(20240901)
    for _ in range(50):
        # given
        text = _random_vietnamese(rng, rng.randint(0, 300))
        # when
        folded = fold(text)
        # then
        assert len(folded) == len(text)
        assert all(folded[i] == fold(ch) for i, ch in enumerate(text))
        assert fold(folded) == folded


# ---------------------------------------------------------------------- strip_accents


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đà Nẵng", "Da Nang"),
        ("ĐỒNG THÁP đẹp", "DONG THAP dep"),
        ("Sở GD&ĐT", "So GD&DT"),
        ("plain ASCII", "plain ASCII"),
        (None, ""),
    ],
)
def test_strip_accents(text: str | None, expected: str) -> None:
    assert strip_accents(text) == expected


def test_strip_accents_preserves_length() -> None:
    text = _random_vietnamese(random.Random(7), 500)
    assert len(strip_accents(text)) == len(text)
    assert strip_accents(text).lower() == fold(text)


# -------------------------------------------------------------------------------- key


@pytest.mark.parametrize("variant", ["hoà", "hòa", "HOA", "hoa", " Hoà ", "HOÀ"])
def test_key_matches_spelling_variants(variant: str) -> None:
    assert key(variant) == "hoa"


def test_key_collapses_whitespace() -> None:
    assert key("  Khánh\n\nHoà\t tỉnh  ") == "khanh hoa tinh"
    assert key(None) == ""


# ----------------------------------------------------------------------------- tokens


def test_tokens_example() -> None:
    assert tokens("Sở GD&ĐT Hà Nội, năm 2024-2025") == [
        "so", "gd", "dt", "ha", "noi", "nam", "2024", "2025",
    ]  # fmt: skip
    assert tokens("") == []
    assert tokens("hoa\u0300 thuy\u0309") == ["hoa", "thuy"]
    assert TOKEN_RE.findall("snake_case x2") == ["snake", "case", "x2"]


def test_token_spans_point_back_into_original_text() -> None:
    # given
    text = "Học sinh lớp 10A1 (THPT Lê Quý Đôn) đạt giải Nhất!"
    # when
    spans = token_spans(fold(text))
    # then
    assert [tok for _, _, tok in spans] == tokens(text)
    assert [text[s:e] for s, e, _ in spans][:3] == ["Học", "sinh", "lớp"]
    assert all(fold(text[s:e]) == tok for s, e, tok in spans)


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(":memory:")
    try:
        con.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61')")
    except sqlite3.OperationalError:
        pytest.skip("SQLite built without FTS5")
    con.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    yield con
    con.close()


def _fts5_terms(con: sqlite3.Connection, text: str) -> list[str]:
    con.execute("DELETE FROM t")
    con.execute("INSERT INTO t(rowid, x) VALUES (1, ?)", (text,))
    return [term for (term,) in con.execute("SELECT term FROM v ORDER BY offset")]


@pytest.mark.parametrize(
    "sentence",
    [
        "Sở GD&ĐT Hà Nội, năm 2024-2025",
        "Thầy Nguyễn Văn A (giáo viên trường THCS Lý Tự Trọng) bị kỷ luật!",
        "Học phí tăng 15%: từ 300.000đ lên 345.000đ/tháng — phụ huynh bức xúc…",
        "E-mail: phongvien@baomoi.vn; hotline 0912-345-678 #khẩn_cấp",
        "“Trường chuẩn quốc gia” đạt 87,5% ở Đắk Lắk & Kon Tum",
        "Lớp 12A3 — điểm thi ½ số môn trên 8,0; x² + y² = z²",
        "hoà̀ng x̀y \u0300 ÀÁ_ẠẢ",  # stray combining marks left over after folding
    ],
)
def test_tokens_match_fts5_unicode61(fts5: sqlite3.Connection, sentence: str) -> None:
    # given the folded text, as the search index stores it
    folded = fold(normalize(sentence))
    # when / then
    assert tokens(folded) == _fts5_terms(fts5, folded)
    assert tokens(sentence) == tokens(folded)
    assert [tok for _, _, tok in token_spans(folded)] == tokens(folded)
