"""Extraction on pages that reproduce the patterns real outlets broke it with: keyword links,
related sections without tell-tale classes, photo and list stories, a retitled headline, a
sidebar's relative time and metadata that contradicts the byline. The pages (our own markup,
tests/fixtures/pages/) are served from 127.0.0.1 and fetched over HTTP, as the crawler does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from crawlers.extract import ExtractedArticle, extract_article
from tests.crawlers.conftest import FIXTURES, LocalServer, Reply

# 17:00 in Vietnam on Monday 07/12/2026: after every fixture article was published.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture(scope="module")
def pages() -> Iterator[LocalServer]:
    """Every page under tests/fixtures/pages, at /<name>.html."""
    srv = LocalServer().start()
    for path in sorted((FIXTURES / "pages").glob("*.html")):
        srv.route(f"/{path.name}", Reply(body=path.read_bytes(), headers=HTML))
    try:
        yield srv
    finally:
        srv.stop()


def _extract(pages: LocalServer, name: str) -> ExtractedArticle:
    url = pages.url(f"/{name}.html")
    response = httpx.get(url)
    response.raise_for_status()
    return extract_article(response.content, url=url, now=NOW, encoding=response.charset_encoding)


def test_words_inside_inline_links_are_not_dropped(pages: LocalServer) -> None:
    # given keyword links inside paragraphs, named 'tag', 'keyword', 'seo-tag', 'related'
    # when
    got = _extract(pages, "keyword_links")
    # then their words stay in their sentences; the tag list under the article does not
    assert got.body.split("\n\n") == [
        "Theo hồ sơ, vụ tranh chấp hợp đồng thuê đất kéo dài hơn hai năm khiến hơn 200 trẻ "
        "phải học tạm ở nhà văn hóa.",
        "Luật sư cho rằng hợp đồng thuê đã hết hạn nhưng các bên chưa thanh lý theo quy định "
        "của Bộ luật Dân sự.",
        "Phụ huynh mong Sở Giáo dục và Đào tạo sớm bố trí chỗ học ổn định cho các cháu trước Tết.",
    ]


def test_related_sections_headline_lists_and_edition_banner_stay_out_of_the_body(
    pages: LocalServer,
) -> None:
    # given "Tin liên quan" headlines inside the body, a list of related teasers after the
    # last paragraph, a "Cùng chuyên mục" box and an international-edition banner, none
    # with a class that says so
    # when
    got = _extract(pages, "related_sections")
    # then the body is the article's three paragraphs, nothing else
    assert got.body.split("\n\n") == [
        "Theo Sở Giáo dục và Đào tạo, toàn tỉnh đang thiếu gần 500 giáo viên mầm non, nhiều "
        "nhất ở hai huyện Hương Khê và Vũ Quang.",
        "Ứng viên phải có bằng cao đẳng sư phạm mầm non trở lên và nộp hồ sơ trước ngày 31/12 "
        "tại phòng giáo dục các huyện.",
        "Người trúng tuyển được hưởng phụ cấp thu hút trong năm năm đầu công tác ở vùng khó khăn.",
    ]
    assert got.author == "Minh Anh"
    assert got.published_at == datetime(2026, 12, 7, 2, 5, tzinfo=UTC)


def test_photo_story_keeps_its_captions(pages: LocalServer) -> None:
    # given a photo story: pictures in <figure>s and old-template caption tables, little else
    # when
    got = _extract(pages, "photo_story")
    # then its captions are its body, in order
    assert got.body.split("\n\n") == [
        "Sáu giờ sáng, sương còn phủ kín lối lên điểm trường. Học sinh đi bộ gần một giờ để "
        "tới lớp.",
        "Cô giáo Hoàng Thị Mai đã gắn bó với điểm trường mười một năm. Lớp ghép của cô có cả "
        "học sinh lớp một và lớp hai.",
        "Bữa trưa có thêm thịt nhờ chương trình hỗ trợ của huyện. Các em tự chia cơm cho nhau.",
        "Bốn giờ chiều, các em lại men theo sườn núi về bản khi trời chưa tối.",
    ]
    assert got.author == "Đức Huy"
    assert got.warnings == []


def test_list_story_keeps_its_items(pages: LocalServer) -> None:
    # given a list story: an <ol> of items, then items in blocks named 'item-related'
    # when
    got = _extract(pages, "list_story")
    # then every item is in the body
    for text in (
        "Lịch thi: kỳ thi diễn ra trong hai ngày 11 và 12/6/2027.",
        "Môn thi: thí sinh thi bốn môn, gồm Toán, Ngữ văn và hai môn tự chọn.",
        "Đăng ký dự thi trực tuyến từ ngày 20/4 đến 30/4.",
        "4. Cách tính điểm",
        "Điểm học bạ chiếm 50% điểm xét tốt nghiệp, tăng so với năm trước.",
        "5. Phúc khảo",
        "Thí sinh có mười ngày để nộp đơn phúc khảo sau khi công bố điểm.",
    ):
        assert text in got.body, text


def test_visible_headline_wins_over_og_title(pages: LocalServer) -> None:
    # given a page retitled after an outcry: its <h1> differs from og:title and twitter:title,
    # with a logo <h1> in the header and a sidebar <h1>
    # when
    got = _extract(pages, "headline_changed")
    # then the headline readers see is the title, verbatim ("Hóa", not "Hoá")
    assert got.title == "Trường THCS Thanh Hóa trả lại tiền thu sai quy định cho phụ huynh"


def test_sidebar_relative_time_is_not_the_publish_time(pages: LocalServer) -> None:
    # given an article that shows no date, beside lists of other articles "1 giờ trước"
    # when
    got = _extract(pages, "sidebar_relative_time")
    # then it has no publish time, rather than another article's age
    assert got.published_at is None
    assert "no publish time found" in got.warnings
    assert got.author == "Hải Yến"


def test_byline_wins_over_metadata_that_contradicts_it(pages: LocalServer) -> None:
    # given a byline "12:40 GMT+7" and meta/JSON-LD saying 12:40+08:00
    # when
    got = _extract(pages, "byline_vs_meta")
    # then the byline's moment is kept, and the contradiction is noted
    assert got.published_at == datetime(2026, 12, 7, 5, 40, tzinfo=UTC)
    assert got.published_from == "text"
    assert any("contradicts the byline" in w for w in got.warnings)
    assert got.author == "Thu Hà"


def _byline_page(shown: str, meta: str) -> str:
    return (
        '<html lang="vi"><head><meta charset="utf-8">'
        f'<meta property="article:published_time" content="{meta}"></head><body><article>'
        "<h1>Quảng Ninh miễn học phí cho học sinh trung học</h1>"
        f'<span class="date">{shown}</span><p>Hội đồng nhân dân tỉnh Quảng Ninh vừa thông '
        "qua nghị quyết miễn học phí cho học sinh trung học cơ sở và trung học phổ thông công "
        "lập trong toàn tỉnh.</p></article></body></html>"
    )


@pytest.mark.parametrize(
    ("shown", "meta", "expected"),
    [
        ("07/12/2026 12:40 GMT+7", "2026-12-07T12:40:33+07:00", datetime(2026, 12, 7, 5, 40, 33)),
        ("07/12/2026", "2026-12-07T12:40:00+07:00", datetime(2026, 12, 7, 5, 40)),
        ("5 giờ trước", "2026-12-07T12:40:00+07:00", datetime(2026, 12, 7, 5, 40)),
    ],
)  # fmt: skip
def test_metadata_that_agrees_with_the_byline_keeps_its_precision(
    shown: str, meta: str, expected: datetime
) -> None:
    # given a byline to the minute, to the day, or relative, and metadata that agrees with it
    # when
    got = extract_article(_byline_page(shown, meta), url="https://baomau.vn/a-1.html", now=NOW)
    # then metadata's seconds / time of day stand, with no contradiction noted
    assert got.published_at == expected.replace(tzinfo=UTC)
    assert got.published_from == "meta"
    assert got.warnings == []


def test_title_lead_and_body_are_kept_as_published() -> None:
    # given both tone-mark placements ("Hóa", "Hoá"), capitals and a decomposed (NFD) word
    page = (
        '<html lang="vi"><head><meta charset="utf-8">'
        '<meta property="og:title" content="thanh hoá: đại học"></head><body><article>'
        "<h1>THANH HÓA: Đại học Hồng Đức tuyển thêm ngành Sư phạm</h1>"
        '<p class="sapo">Trường ở Thanh Hoá mở thêm ba ngành sư phạm năm 2027.</p>'
        "<p>Đại học Hồng Đức (Thanh Hóa) và Sở GD&amp;ĐT Thanh Hoá cùng khảo sát nhu cầu "
        "giáo viên ở các huyện miền núi THƯỜNG XUÂN, Mường Lát.</p>"
        f"<p>{'Hóa'.replace('ó', 'o' + chr(0x301))} học là một trong ba ngành mới.</p>"
        "</article></body></html>"
    )
    # when
    got = extract_article(page, url="https://baomau.vn/a-2.html", now=NOW)
    # then only NFC composition changes anything
    assert got.title == "THANH HÓA: Đại học Hồng Đức tuyển thêm ngành Sư phạm"
    assert got.lead == "Trường ở Thanh Hoá mở thêm ba ngành sư phạm năm 2027."
    assert got.body.split("\n\n") == [
        "Đại học Hồng Đức (Thanh Hóa) và Sở GD&ĐT Thanh Hoá cùng khảo sát nhu cầu giáo viên ở "
        "các huyện miền núi THƯỜNG XUÂN, Mường Lát.",
        "Hóa học là một trong ba ngành mới.",
    ]


def _article(body: str, head: str = "") -> str:
    return (
        f'<html lang="vi"><head><meta charset="utf-8">{head}</head><body><article>'
        f"<h1>Bộ Giáo dục ban hành quy chế thi tốt nghiệp mới</h1>{body}</article></body></html>"
    )


def test_lone_links_and_english_mentions_stay_while_labelled_links_go() -> None:
    # given a paragraph that is one link (the decree's full text), one about English classes
    # linking to another site, and a "Xem thêm:" paragraph that is a label and a headline
    first = (
        "Quy chế mới áp dụng từ kỳ thi năm 2027 với nhiều điểm thay đổi về cách tính điểm xét "
        "tốt nghiệp cho thí sinh."
    )
    page = _article(
        f"<p>{first}</p>"
        '<p><a href="https://vanban.example.gov.vn/tt-24.pdf">Toàn văn Thông tư số '
        "24/2026/TT-BGDĐT</a></p>"
        '<p>Thí sinh học chương trình bằng tiếng Anh được thi theo <a href="https://'
        'thitienganh.example.org/">hướng dẫn riêng</a>.</p>'
        '<p>Xem thêm: <a href="/quy-che-thi-nam-ngoai-12.html">Quy chế thi năm ngoái có gì '
        "khác</a></p>"
    )
    # when
    got = extract_article(page, url="https://baomau.vn/quy-che-1.html", now=NOW)
    # then
    assert got.body.split("\n\n") == [
        first,
        "Toàn văn Thông tư số 24/2026/TT-BGDĐT",
        "Thí sinh học chương trình bằng tiếng Anh được thi theo hướng dẫn riêng.",
    ]


@pytest.mark.parametrize(
    ("head", "expected", "source"),
    [
        (
            '<meta property="article:published_time" content="2026-12-07T12:40:00+07:00">',
            datetime(2026, 12, 7, 5, 40, tzinfo=UTC),
            "meta",
        ),
        ("", datetime(2026, 12, 7, 8, 10, tzinfo=UTC), "text"),
    ],
)
def test_last_edit_stamp_does_not_override_the_publish_time(
    head: str, expected: datetime, source: str
) -> None:
    # given a byline that shows only when the article was last edited
    body = (
        '<div class="date">Cập nhật: 07/12/2026 15:10</div><p>Quy chế mới áp dụng từ kỳ thi '
        "năm 2027 với nhiều điểm thay đổi về cách tính điểm xét tốt nghiệp.</p>"
    )
    # when
    got = extract_article(_article(body, head), url="https://baomau.vn/quy-che-2.html", now=NOW)
    # then metadata's publish time stands; without metadata the stamp is better than nothing
    assert (got.published_at, got.published_from) == (expected, source)
    assert not any("contradicts" in w for w in got.warnings)
    assert "Cập nhật" not in got.body
