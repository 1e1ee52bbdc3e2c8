"""The RSS/Atom connector on feeds served by a local server."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from core.models import Source, utcnow
from core.settings import Settings
from crawlers.connectors.base import CrawlOutput, SourceConnector, get_connector
from crawlers.connectors.rss import RssConnector, html_to_text, parse_feed
from crawlers.http import FetchError
from tests.crawlers.conftest import LocalServer, Reply, fixture_bytes
from tests.crawlers.test_encoding import to_tcvn3, to_vni

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
TONES = "\u0300\u0301\u0303\u0309\u0323"


def _crawl(server: LocalServer, settings: Settings, body: bytes, **headers: str) -> CrawlOutput:
    url = server.route("/rss.xml", Reply(body=body, headers=headers or RSS))
    return RssConnector().fetch(Source(name="Báo thử", url=url), settings)


def _to_cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does it: shaped letters precomposed, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in TONES)
        out.append(
            unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES)) + tones
        )
    return "".join(out).encode("cp1258")


def test_rss_is_registered_as_a_source_connector() -> None:
    # when
    connector = get_connector("rss")
    # then
    assert isinstance(connector, RssConnector)
    assert isinstance(connector, SourceConnector)
    with pytest.raises(KeyError, match="no connector"):
        get_connector("carrier-pigeon")


def test_good_feed_gives_clean_items(server: LocalServer, settings: Settings) -> None:
    # when
    out = _crawl(server, settings, fixture_bytes("feeds/good.xml"))
    # then
    first = out.items[0]
    assert first.title == "Hơn 300.000 học sinh tỉnh Hòa Bình Xanh dự lễ khai giảng"
    assert first.lead == "Sáng 5/9, hơn 300.000 học sinh bước vào năm học mới."
    assert first.body == (
        "Sáng 5/9, các trường học trên địa bàn tỉnh đồng loạt tổ chức lễ khai giảng.\n\n"
        "Giám đốc Sở GD&ĐT đánh trống khai trường tại Trường THPT Đắk Sơn."
    )
    assert first.author == "Minh Châu"
    assert first.native_id == "bm-1001"
    # 08:00 at +07:00 is 01:00 UTC
    assert first.published_at == datetime(2024, 9, 5, 1, 0, tzinfo=UTC)
    assert first.meta["categories"] == ["Giáo dục"]
    assert all("<" not in item.lead and "alert" not in item.lead for item in out.items)
    assert not out.not_modified


def test_duplicate_items_in_one_feed_are_kept_once(server: LocalServer, settings: Settings) -> None:
    # when: the feed lists one article twice (tracking params, mobile host, fragment)
    out = _crawl(server, settings, fixture_bytes("feeds/good.xml"))
    # then
    titles = [i.title for i in out.items]
    assert titles.count("Phụ huynh phản ánh khoản thu đầu năm ở Trường Tiểu học Đồng Tâm") == 1
    assert len(out.items) == 4
    assert any("neither link nor guid" in e for e in out.errors)


def test_future_date_is_replaced_by_fetch_time(server: LocalServer, settings: Settings) -> None:
    # given
    before = utcnow()
    # when
    out = _crawl(server, settings, fixture_bytes("feeds/good.xml"))
    # then
    item = next(i for i in out.items if i.url and i.url.endswith("lich-thi-lop-10.html"))
    assert item.published_at is not None
    assert before <= item.published_at <= utcnow()
    assert "2098-12-31" in item.meta["published_at_note"]


def test_item_without_date_has_none(server: LocalServer, settings: Settings) -> None:
    # when
    out = _crawl(server, settings, fixture_bytes("feeds/good.xml"))
    # then
    item = next(i for i in out.items if i.url and i.url.endswith("trao-hoc-bong.html"))
    assert item.published_at is None


def test_malformed_feed_keeps_the_items_it_could_parse(
    server: LocalServer, settings: Settings
) -> None:
    # when
    out = _crawl(server, settings, fixture_bytes("feeds/malformed.xml"))
    # then
    assert [i.title for i in out.items] == [
        "Học sinh Đà Nẵng đạt giải nhất Olympic Tin học",
        "Giáo viên & học sinh vùng cao đến trường",
    ]
    assert any("malformed feed" in e for e in out.errors)


def test_unparseable_document_raises(server: LocalServer, settings: Settings) -> None:
    # when / then
    with pytest.raises(FetchError):
        _crawl(server, settings, b"\x00\x01<<<not a feed", **{"Content-Type": "text/xml"})
    with pytest.raises(FetchError, match="not an RSS or Atom feed"):
        _crawl(server, settings, "<html><body><p>Trang chủ</p></body></html>".encode())


def test_windows_1258_declared_in_xml_is_decoded(server: LocalServer, settings: Settings) -> None:
    # given: a legacy Vietnamese feed whose charset only the XML declaration names
    title = "Trường mầm non Đắk Sơn đạt chuẩn quốc gia"
    body = (
        b'<?xml version="1.0" encoding="windows-1258"?><rss version="2.0"><channel>'
        b"<title>x</title><item><title>"
        + _to_cp1258(title)
        + b"</title><link>https://baocu.example.vn/a.html</link></item></channel></rss>"
    )
    # when
    out = _crawl(server, settings, body, **{"Content-Type": "application/xml"})
    # then: decoded, and composed to NFC by cleaning
    assert out.items[0].title == title


def test_latin1_charset_from_http_header_is_honoured(
    server: LocalServer, settings: Settings
) -> None:
    # given
    title = "Bánh mì và cà phê Thái Hà"
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>'
        + title.encode("latin-1")
        + b"</title><link>https://baocu.example.vn/b.html</link></item></channel></rss>"
    )
    # when
    out = _crawl(server, settings, body, **{"Content-Type": "text/xml; charset=iso-8859-1"})
    # then
    assert out.items[0].title == title


def test_atom_feed_with_relative_links(server: LocalServer, settings: Settings) -> None:
    # when
    out = _crawl(
        server,
        settings,
        fixture_bytes("feeds/atom.xml"),
        **{"Content-Type": "application/atom+xml"},
    )
    # then
    item = out.items[0]
    assert item.url == server.url("/tin/tap-huan-chuong-trinh.html")
    assert item.lead == "Sở tổ chức tập huấn cho giáo viên cốt cán."
    assert item.body == "Thời gian: từ ngày 16/9.\n\nĐịa điểm: hội trường Sở."
    assert item.author == "Văn phòng Sở"
    assert item.published_at == datetime(2024, 9, 10, 0, 30, tzinfo=UTC)
    assert item.meta["published_at_from"] == "updated"


def test_not_modified_feed_gives_no_items(server: LocalServer, settings: Settings) -> None:
    # given: the source remembers the feed's ETag from the last poll
    url = server.route("/rss.xml", Reply(304, headers={"ETag": '"abc"'}))
    source = Source(name="Báo thử", url=url, etag='"abc"')
    # when
    out = RssConnector().fetch(source, settings)
    # then
    assert out.not_modified and out.items == [] and out.etag == '"abc"'
    assert server.requests[0]["headers"]["If-None-Match"] == '"abc"'


def test_html_to_text_drops_tags_and_scripts() -> None:
    # when
    text = html_to_text('<p>A &amp; B</p><script>alert("x")</script><div>C<br>D</div>')
    # then
    assert text == "A & B\n\nC\n\nD"
    assert html_to_text("") == ""


def test_parse_feed_uses_given_fetch_time_for_future_dates() -> None:
    # given
    now = datetime(2024, 9, 1, tzinfo=UTC)
    # when
    out = parse_feed(fixture_bytes("feeds/good.xml"), url="https://baomau.example.vn/rss", now=now)
    # then: 2024-09-05 is four days after "now", so it too is replaced
    first = out.items[0]
    assert first.published_at == now
    assert now + timedelta(days=1) < datetime(2024, 9, 5, 1, tzinfo=UTC)


def _legacy_feed(title: bytes, lead: bytes, declaration: bytes = b"") -> bytes:
    return (
        b"<?xml version='1.0'" + declaration + b"?><rss version='2.0'><channel><title>x</title>"
        b"<item><title>" + title + b"</title><description>" + lead + b"</description>"
        b"<link>https://baocu.example.vn/c.html</link></item></channel></rss>"
    )


def test_tcvn3_feed_declared_latin1_is_converted(server: LocalServer, settings: Settings) -> None:
    # given: an old site typing in an ABC font, its feed declared ISO-8859-1
    title, lead = "Trường mầm non Đắk Sơn đạt chuẩn", "Học sinh được đón tiếp chu đáo."
    body = _legacy_feed(to_tcvn3(title), to_tcvn3(lead), b" encoding='iso-8859-1'")
    # when
    out = _crawl(server, settings, body, **{"Content-Type": "application/rss+xml"})
    # then: the soft hyphen (TCVN3's "ư") survived until conversion
    assert (out.items[0].title, out.items[0].lead) == (title, lead)


def test_vni_text_in_a_utf8_feed_is_converted(server: LocalServer, settings: Settings) -> None:
    # given: VNI-font text pasted into a UTF-8 feed
    title, lead = "Giáo viên vùng cao vượt lũ đến trường", "Thầy cô đi bộ mười cây số."
    body = _legacy_feed(to_vni(title).encode(), to_vni(lead).encode())
    # when
    out = _crawl(server, settings, body)
    # then
    assert (out.items[0].title, out.items[0].lead) == (title, lead)


def test_windows_1258_named_only_by_the_http_header(
    server: LocalServer, settings: Settings
) -> None:
    # given
    title = "Thủ khoa Đắk Lắk nhận học bổng"
    body = _legacy_feed(_to_cp1258(title), b"x")
    # when
    out = _crawl(server, settings, body, **{"Content-Type": "text/xml; charset=windows-1258"})
    # then
    assert out.items[0].title == title
