"""The tipline service: forwarded posts become classified "tip" documents, repeats merge."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Document, Source
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.identity import canonical_url, document_id
from crawlers.pipeline import ingest
from crawlers.tipline import (
    SCREENSHOT_SEPARATOR,
    TIPLINE_SOURCE_NAME,
    TipError,
    is_duplicate,
    submit_tip,
    text_fingerprint,
)

FORWARDED = (
    "KHẨN: Nghe nói năm nay Sở bỏ thi môn Ngoại ngữ vào lớp 10, các trường xét tuyển bằng "
    "học bạ. Ai có con thi năm nay chia sẻ ngay để các phụ huynh biết!"
)


def test_a_tip_becomes_a_classified_document(session: Session, settings: Settings) -> None:
    # when
    doc = submit_tip(
        session,
        text=FORWARDED,
        submitted_by="Phụ huynh qua Zalo OA",
        channel="zalo",
        settings=settings,
        entered_by="thuy",
    )
    # then
    source = session.scalars(select(Source).where(Source.name == TIPLINE_SOURCE_NAME)).one()
    assert (source.kind, source.enabled) == ("tipline", False)
    assert doc.source_id == source.id and doc.kind == "tip"
    assert doc.id == document_id(source_id=source.id, native_id=text_fingerprint(FORWARDED))
    assert doc.title.startswith("KHẨN: Nghe nói năm nay Sở bỏ thi môn Ngoại ngữ")
    assert doc.body == FORWARDED and doc.author is None and doc.url is None
    assert doc.meta["submitted_by"] == "Phụ huynh qua Zalo OA" and doc.meta["channel"] == "zalo"
    (first,) = doc.meta["submissions"]
    assert first["entered_by"] == "thuy" and first["submitted_at"]
    assert doc.classification is not None and doc.indexed_at is None
    assert not is_duplicate(doc)


def test_the_same_post_forwarded_twice_is_one_document(
    session: Session, settings: Settings
) -> None:
    # given
    first = submit_tip(
        session,
        text=FORWARDED,
        submitted_by="Cô Lan, THCS Lê Lợi",
        channel="zalo",
        settings=settings,
    )
    # when the same post arrives re-wrapped, in other case, from a Facebook group
    again = submit_tip(
        session,
        text="  " + FORWARDED.upper().replace(" ", "\n", 3) + "\n",
        submitted_by="Thầy Hùng",
        channel="facebook_group",
        settings=settings,
    )
    # then
    assert again.id == first.id and is_duplicate(again)
    assert session.scalar(select(func.count()).select_from(Document)) == 1
    who = [(s["submitted_by"], s["channel"]) for s in again.meta["submissions"]]
    assert who == [("Cô Lan, THCS Lê Lợi", "zalo"), ("Thầy Hùng", "facebook_group")]
    assert all(s["submitted_at"] for s in again.meta["submissions"])


def test_a_tip_with_a_link_is_identified_by_the_link(session: Session, settings: Settings) -> None:
    # given
    url = "https://www.facebook.com/groups/phuhuynh/posts/123?utm_source=zalo&fbclid=AbC"
    # when the same link comes twice with different words around it
    doc = submit_tip(
        session,
        text="Bài này đang lan truyền",
        url=url,
        submitted_by="A",
        channel="zalo",
        settings=settings,
    )
    again = submit_tip(
        session,
        text="Xem bài này, có đúng không?",
        url=url,
        submitted_by="B",
        channel="other",
        settings=settings,
    )
    # then
    assert doc.id == document_id(canonical_url(url)) == again.id
    assert doc.url == url and is_duplicate(again)
    assert again.meta["submissions"][1]["text"] == "Xem bài này, có đúng không?"


def test_screenshot_text_is_kept_and_appended(session: Session, settings: Settings) -> None:
    # when
    doc = submit_tip(
        session,
        text="Ảnh chụp tin nhắn nhóm lớp",
        screenshot_text="Cô giáo: các con nộp 200.000 đồng tiền máy chiếu trước thứ Sáu.",
        submitted_by="Phụ huynh lớp 4B",
        channel="zalo",
        settings=settings,
    )
    # then
    assert doc.body == (
        "Ảnh chụp tin nhắn nhóm lớp"
        + SCREENSHOT_SEPARATOR
        + "Cô giáo: các con nộp 200.000 đồng tiền máy chiếu trước thứ Sáu."
    )
    assert doc.meta["screenshot_text"].startswith("Cô giáo: các con nộp")


def test_markup_in_a_forwarded_post_is_stored_as_text(session: Session, settings: Settings) -> None:
    # given
    text = 'Bấm vào đây <script>alert("lay mat khau")</script> để nhận học bổng'
    # when
    doc = submit_tip(session, text=text, submitted_by="X", channel="other", settings=settings)
    # then
    session.expire_all()
    assert session.get(Document, doc.id).body == text  # type: ignore[union-attr]


def test_a_tip_about_an_article_we_already_have_keeps_the_article(
    session: Session, settings: Settings
) -> None:
    # given an article crawled from a press site
    press = Source(name="Báo Tỉnh", kind="rss", url="https://baotinh.vn/rss")
    session.add(press)
    session.commit()
    url = "https://baotinh.vn/giao-duc/truong-hoc-tang-hoc-phi.html"
    ingest(
        session,
        press,
        [FetchedItem(url=url, title="Trường học tăng học phí", body="Nội dung bài báo.")],
    )
    # when someone forwards it with their own words
    doc = submit_tip(
        session,
        text="Có thật không các bác?",
        url=url + "?zarsrc=30",
        submitted_by="Y",
        channel="zalo",
        settings=settings,
    )
    # then the article stays as it was; the tip is recorded on it
    assert doc.source_id == press.id and doc.title == "Trường học tăng học phí"
    assert doc.body == "Nội dung bài báo." and is_duplicate(doc)
    assert doc.meta["submissions"][0]["text"] == "Có thật không các bác?"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "   \n "}, "không được để trống"),
        ({"text": "a" * 20_001}, "dài quá 20.000 ký tự"),
        ({"url": "ftp://example.vn/tep"}, "Đường dẫn không hợp lệ"),
        ({"url": "không phải đường dẫn"}, "Đường dẫn không hợp lệ"),
        ({"submitted_by": " "}, "người gửi"),
        ({"channel": "sms"}, "Kênh nhận tin không hợp lệ"),
    ],
)
def test_bad_input_is_refused_in_vietnamese(
    session: Session, settings: Settings, fields: dict[str, str], message: str
) -> None:
    # given
    args = {"text": FORWARDED, "submitted_by": "Z", "channel": "zalo", **fields}
    # when
    with pytest.raises(TipError, match=message):
        submit_tip(session, settings=settings, **args)  # type: ignore[arg-type]
    # then
    assert session.scalar(select(func.count()).select_from(Document)) == 0
