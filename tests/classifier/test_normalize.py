"""Model-input normalisation: teencode, repeated letters, emoticons, truncation."""

from __future__ import annotations

import pytest

from classifier.normalize import model_input, normalize_for_model, truncate_words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ko dc", "không được"),
        ("hok bik j luôn", "không biết gì luôn"),
        ("khong hieu sao", "không hieu sao"),
        ("k đi đc vs mik", "không đi được với mình"),
        ("hs và gv", "học sinh và giáo viên"),
        ("HS lớp 9 và PH", "học sinh lớp 9 và phụ huynh"),
        ("bgd vừa ra sgk mới", "bộ giáo dục vừa ra sách giáo khoa mới"),
        ("cô ns r mà", "cô nói rồi mà"),
        ("bgd&đt thông báo", "bộ giáo dục và đào tạo thông báo"),
    ],
)
def test_teencode_becomes_standard_words(raw: str, expected: str) -> None:
    assert normalize_for_model(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "Giá 50k một suất",  # a unit, not "không"
        "Nhà văn J.K. Rowling",  # initials keep their case and stay
        "Phòng R&D của trường",
        "Ông K. đã đến",  # capital one-letter forms are initials
    ],
)
def test_lookalikes_are_left_alone(raw: str) -> None:
    assert normalize_for_model(raw) == raw


def test_only_whole_words_are_replaced() -> None:
    # "kg" inside "kgs" or "vs" inside "vsat" must not change.
    assert normalize_for_model("vsat kgs rồi") == "vsat kgs rồi"


def test_repeated_letters_collapse_but_real_doubles_stay() -> None:
    assert normalize_for_model("đẹp quáaaa") == "đẹp quá"
    assert normalize_for_model("vuiiiii ghêêê") == "vui ghê"
    assert normalize_for_model("nồi xoong boong tàu") == "nồi xoong boong tàu"
    assert normalize_for_model("năm 2000") == "năm 2000"


def test_emoticons_are_kept_as_tokens() -> None:
    assert normalize_for_model("vui quá:)))") == "vui quá :)"
    assert normalize_for_model("buồn ghê :((((") == "buồn ghê :("
    assert normalize_for_model("haha xDDD") == "haha xD"
    assert normalize_for_model("yêu trường <3") == "yêu trường <3"
    assert normalize_for_model("cười 😂😂😂😂😂😂") == "cười 😂😂😂"


def test_urls_emails_and_times_survive() -> None:
    text = "xem https://so.example.vn/k/r lúc 10:30, hỏi k@so.example.vn nhé"
    assert normalize_for_model(text) == text


def test_tone_marks_and_whitespace_are_normalised() -> None:
    # core.text.normalize: classic tone placement, NFC, tidy spaces
    assert normalize_for_model("  hoà   thuỷ\u200b ") == "hòa thủy"
    assert normalize_for_model(None) == ""
    assert normalize_for_model("") == ""


def test_truncate_words_cuts_at_a_space() -> None:
    assert truncate_words("một hai ba bốn năm", 100) == "một hai ba bốn năm"
    assert truncate_words("giáo dục và đào tạo", 17) == "giáo dục và đào"
    assert truncate_words("x" * 50, 10) == "x" * 10


def test_model_input_keeps_title_and_lead_and_fills_with_body() -> None:
    # given
    title, lead = "Trường học mới khánh thành", "Học sinh vui mừng đón năm học mới."
    body = "Buổi lễ có nhiều phụ huynh tham dự. " * 200
    # when
    text = model_input(title, lead, body, max_chars=200)
    # then
    assert text.startswith(f"{title}\n{lead}\nBuổi lễ")
    assert len(text) <= 200
    assert model_input("Tiêu đề", None, "", 100) == "Tiêu đề"
    assert model_input(None, None, None, 100) == ""


def test_model_input_never_normalises_a_huge_body_whole() -> None:
    text = model_input("T", "", "chữ " * 2_000_000, max_chars=500)
    assert len(text) <= 500


def test_a_text_with_one_teencode_word_among_many_still_gets_it_replaced() -> None:
    # Texts whose words are all standard skip the per-word pass; one odd word must not.
    article = "Sở Giáo dục và Đào tạo tổ chức hội nghị tổng kết năm học. " * 40
    out = normalize_for_model(article + "hs ko dc nghỉ quáaaa")
    assert out.startswith("Sở Giáo dục và Đào tạo tổ chức")
    assert out.endswith("học sinh không được nghỉ quá")
    assert normalize_for_model(article) == article.strip()
