"""Article extraction on each fixture paper's markup and on hand-made edge cases: charset,
metadata sources, canonical links, broken pages."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import httpx
import pytest

from core.models import utcnow
from crawlers.extract import ExtractionError, extract_article
from fixtureweb import ExpectedArticle, PressWeb

NOW = datetime(2023, 11, 21, 3, 0, tzinfo=UTC)
URL = "https://baomau.vn/giao-duc/bai-viet-123.html"
WWW_URL = "https://www.baomau.vn/giao-duc/bai-viet-123.html"
PARAGRAPH = (
    "Sở Giáo dục và Đào tạo tỉnh Hòa Bình Xanh vừa tổ chức hội nghị triển khai nhiệm vụ năm "
    "học mới với sự tham gia của hiệu trưởng các trường trung học phổ thông trong tỉnh."
)


def _cp1258(text: str) -> bytes:
    """Text in windows-1258: shaped letters precomposed, tone marks as combining marks."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        marks = "".join(c for c in parts if c in tones)
        out.append(
            unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones)) + marks
        )
    return "".join(out).encode("cp1258")


def _page(head: str = "", body: str = "", *, charset: str = "utf-8") -> str:
    return (
        f'<!DOCTYPE html><html lang="vi"><head><meta charset="{charset}">{head}</head>'
        f"<body><nav><a href='/'>Trang chủ</a> <a href='/gd'>Giáo dục</a></nav>"
        f"<article><h1>Hội nghị triển khai năm học mới</h1>{body}</article>"
        "<footer>Giấy phép số 1/GP-BTTTT</footer></body></html>"
    )


def _fetch(url: str) -> tuple[bytes, str | None]:
    response = httpx.get(url)
    response.raise_for_status()
    return response.content, response.charset_encoding


@pytest.mark.parametrize("paper", ["baoA", "baoB", "baoC"])
def test_each_paper_extracts_the_true_article(press_web: PressWeb, paper: str) -> None:
    # given every article page of one paper, and the truth about it
    expected = [e for e in press_web.expected().values() if e.paper == paper]
    assert len(expected) >= 8
    for truth in expected:
        content, charset = _fetch(truth.url)
        # when
        got = extract_article(content, url=truth.url, now=utcnow(), encoding=charset)
        # then
        assert got.title == truth.title, truth.url
        assert got.lead == truth.lead, truth.url
        assert got.body.split("\n\n") == list(truth.paragraphs), truth.url
        assert got.author == truth.author, truth.url
        assert got.published_at == truth.published_at, truth.url
        assert got.canonical_url == truth.canonical_url, truth.url
        assert got.original_url == truth.original_url, truth.url
        assert got.language == "vi"
        assert got.warnings == []


def _page_text_outside_article(truth: ExpectedArticle, web: PressWeb) -> list[str]:
    article = next(a for a in web.articles(truth.paper) if web.article_url(a) == truth.url)
    chrome = [
        "Trang chủ", "Tin liên quan", "Ý kiến bạn đọc", "Quảng cáo", "Giấy phép số",
        "Đọc nhiều", "dataLayer", "Mã theo dõi", "lượt xem", "Xem thêm",
    ]  # fmt: skip
    chrome += [text for _name, text in article.comments] + [name for name, _ in article.comments]
    return chrome + [t for t in (article.caption, article.alt) if t]


@pytest.mark.parametrize("paper", ["baoA", "baoB", "baoC"])
def test_body_leaves_out_the_page_around_the_article(press_web: PressWeb, paper: str) -> None:
    # given one article page per paper, with navigation, captions, related links, comments
    truth = next(e for e in press_web.expected().values() if e.paper == paper)
    content, charset = _fetch(truth.url)
    # when
    got = extract_article(content, url=truth.url, now=utcnow(), encoding=charset)
    # then none of it is in the body, nor the title, lead, dateline or byline
    for text in _page_text_outside_article(truth, press_web):
        assert text not in got.body, text
    assert truth.title not in got.body and truth.lead not in got.body
    assert truth.author is None or truth.author not in got.body
    assert "GMT+7" not in got.body and "(GDĐX)" not in got.body
    assert got.images_ignored >= 1


def test_publish_time_sources_per_paper(press_web: PressWeb) -> None:
    # given one page of each paper: visible text only, visible text + JSON-LD, ISO meta only
    sources = {}
    for paper in ("baoA", "baoB", "baoC"):
        truth = next(e for e in press_web.expected().values() if e.paper == paper)
        content, _ = _fetch(truth.url)
        # when
        sources[paper] = extract_article(content, url=truth.url, now=utcnow()).published_from
    # then
    assert sources == {"baoA": "text", "baoB": "text", "baoC": "meta"}


def test_windows_1258_page_is_decoded_from_its_meta_charset() -> None:
    # given a legacy-encoded page (cp1258 writes tones as combining marks)
    html = _cp1258(_page(body=f"<p>{PARAGRAPH}</p>", charset="windows-1258"))
    # when
    got = extract_article(html, url=URL, now=NOW)
    # then
    assert got.title == "Hội nghị triển khai năm học mới"
    assert got.body == PARAGRAPH


def test_http_equiv_charset_and_header_charset() -> None:
    # given a page whose charset only an http-equiv meta states, and one only the header states
    head = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">'
    legacy = _page(body=f"<p>{PARAGRAPH}</p>").replace('<meta charset="utf-8">', head)
    plain = _page(body=f"<p>{PARAGRAPH}</p>").replace('<meta charset="utf-8">', "")
    # when
    from_meta = extract_article(_cp1258(legacy), url=URL, now=NOW)
    from_header = extract_article(_cp1258(plain), url=URL, now=NOW, encoding="windows-1258")
    # then
    assert from_meta.body == from_header.body == PARAGRAPH


def test_utf8_page_mislabelled_as_latin1_and_undecodable_bytes() -> None:
    # given UTF-8 text labelled iso-8859-1, and a page with bytes valid in no charset
    mislabelled = _page(body=f"<p>{PARAGRAPH}</p>", charset="iso-8859-1").encode("utf-8")
    broken = _page(body=f"<p>{PARAGRAPH}</p>").encode("utf-8") + b"<p>\xff\xfe\x00\x81</p>"
    # when
    got = extract_article(mislabelled, url=URL, now=NOW)
    damaged = extract_article(broken, url=URL, now=NOW)
    # then the mislabelled page reads right, the damaged one does not crash extraction
    assert got.body == PARAGRAPH
    assert damaged.body


def test_json_ld_graph_gives_date_and_authors() -> None:
    # given a JSON-LD @graph (after a broken JSON-LD block) and no meta dates
    ld = (
        '<script type="application/ld+json">{broken</script>'
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
        '{"@type": "WebSite", "name": "Báo Mẫu"}, {"@type": ["NewsArticle"], '
        '"datePublished": "2023-11-20T08:15:00+07:00", "author": [{"name": "Minh Châu"}, '
        '{"@type": "Person", "name": "Thanh Hương"}]}]}</script>'
    )
    # when
    got = extract_article(_page(ld, f"<p>{PARAGRAPH}</p>"), url=URL, now=NOW)
    # then
    assert got.published_at == datetime(2023, 11, 20, 1, 15, tzinfo=UTC)
    assert got.published_from == "json-ld"
    assert got.author == "Minh Châu, Thanh Hương"


def test_time_element_then_relative_visible_text() -> None:
    # given one page with <time datetime>, one with only "2 giờ trước" in a .time span
    with_time = _page(body=f'<time datetime="2023-11-20T08:15">x</time><p>{PARAGRAPH}</p>')
    relative = _page(body=f'<span class="time">2 giờ trước</span><p>{PARAGRAPH}</p>')
    # when
    a = extract_article(with_time, url=URL, now=NOW)
    b = extract_article(relative, url=URL, now=NOW)
    # then
    assert (a.published_at, a.published_from) == (datetime(2023, 11, 20, 1, 15, tzinfo=UTC), "time")
    assert (b.published_at, b.published_from) == (datetime(2023, 11, 21, 1, 0, tzinfo=UTC), "text")
    assert "giờ trước" not in b.body


def test_date_far_in_the_future_is_dropped() -> None:
    # given a meta date a year ahead (a CMS default or a typo)
    head = '<meta property="article:published_time" content="2024-11-20T08:15:00+07:00">'
    # when
    got = extract_article(_page(head, f"<p>{PARAGRAPH}</p>"), url=URL, now=NOW)
    # then
    assert got.published_at is None and "no publish time found" in got.warnings


@pytest.mark.parametrize(
    ("href", "canonical", "original"),
    [
        ("/giao-duc/bai-viet-123.html", URL, None),
        (WWW_URL, WWW_URL, None),
        ("https://baomau.vn/", URL, None),
        ("javascript:void(0)", URL, None),
        ("https://baogoc.vn/thoi-su/bai-goc-99.html", URL, "https://baogoc.vn/thoi-su/bai-goc-99.html"),
        ("https://baogoc.vn/", URL, None),
    ],
)  # fmt: skip
def test_canonical_links(href: str, canonical: str, original: str | None) -> None:
    # given a page whose <link rel=canonical> is same-site, home-page junk or another site's
    head = f'<link rel="canonical" href="{href}">'
    # when
    got = extract_article(_page(head, f"<p>{PARAGRAPH}</p>"), url=URL, now=NOW)
    # then
    assert (got.canonical_url, got.original_url) == (canonical, original)


def test_title_from_og_title_without_site_suffix_and_lead_repeated_in_body() -> None:
    # given og:title = headline + site name, the lead only in og:description and repeated
    # as the body's first paragraph
    head = (
        '<meta property="og:title" content="Hội nghị triển khai năm học mới | Báo Mẫu">'
        '<meta property="og:description" content="Ngành giáo dục bước vào năm học mới.">'
    )
    body = f"<p>Ngành giáo dục bước vào năm học mới.</p><p>{PARAGRAPH}</p>"
    # when
    got = extract_article(_page(head, body), url=URL, now=NOW)
    # then
    assert got.title == "Hội nghị triển khai năm học mới"
    assert got.lead == "Ngành giáo dục bước vào năm học mới."
    assert got.body == PARAGRAPH


def test_broken_markup_still_gives_the_text() -> None:
    # given unclosed tags, stray end tags and an unterminated document
    html = (
        "<html><head><title>Tin nhanh - Báo Mẫu</title><body><div class=content>"
        f"<p>{PARAGRAPH}<p>Đoạn thứ hai của bài viết vẫn phải được giữ lại đầy đủ.</span></div>"
        "<div><p>Đoạn cuối"
    )
    # when
    got = extract_article(html, url=URL, now=NOW)
    # then
    assert got.title == "Tin nhanh"
    assert PARAGRAPH in got.body and "Đoạn thứ hai" in got.body


@pytest.mark.parametrize(
    "html",
    [
        "",
        b"",
        "   \n ",
        b"\x00\xff\xfe\x81",
        "<html><body><nav><a href='/'>Trang chủ</a></nav><footer>Giấy phép</footer></body></html>",
        '<html><body><h1>Lỗi</h1><div class="content"><p <p <<>></div></body>',
        "<?xml version='1.0' encoding='utf-8'?><rss><channel></channel></rss>",
    ],
)
def test_no_article_text_raises_a_clear_error(html: str | bytes) -> None:
    # given pages with no article text at all
    # when / then
    with pytest.raises(ExtractionError, match="no article text|empty page|not an HTML"):
        extract_article(html, url=URL, now=NOW)
