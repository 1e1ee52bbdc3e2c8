"""The document and case pages say "Bài đã được sửa" for an article the outlet edited, and
show what changed, word by word, with the scraped text escaped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.revisions import diff_html
from core.models import Alert, Document, Source
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import ingest

URL = "https://baothu.example.vn/tin/hoc-phi.html"
WHEN = datetime(2026, 12, 1, 1, tzinfo=UTC)
BODY = (
    "Phụ huynh Trường THCS Lê Lợi phản ánh nhà trường thu 5 triệu đồng mỗi học sinh trái "
    "tuyến.\n\nHiệu trưởng cho biết khoản thu do ban đại diện cha mẹ học sinh đề xuất."
)


def _edited_document(session: Session) -> Document:
    source = Source(name="Báo Thử", url="https://baothu.example.vn/rss")
    session.add(source)
    session.commit()
    first = FetchedItem(
        url=URL, title="Trường thu <5 triệu> tiền trái tuyến", body=BODY, published_at=WHEN
    )
    ingest(session, source, [first])
    edited = FetchedItem(
        url=URL,
        title="Trường rà soát các khoản thu đầu năm",
        body=BODY.replace("5 triệu đồng", "3 triệu đồng"),
        published_at=WHEN,
    )
    ingest(session, source, [edited])
    return session.scalars(select(Document)).one()


def test_an_edited_article_shows_bai_da_duoc_sua_with_the_diff_on_its_page(
    session: Session, client_for: Callable[..., TestClient]
) -> None:
    # given an article whose headline and one figure the outlet changed
    doc = _edited_document(session)
    session.commit()
    # when
    page = client_for("press_officer").get(f"/tai-lieu/{doc.id}")
    # then the page says so and shows the old and new words, escaped
    assert page.status_code == 200
    html = page.text
    assert "Bài đã được sửa (1 lần)" in html
    assert "<del>Trường thu &lt;5 triệu&gt; tiền trái tuyến</del>" in html
    assert "<ins>Trường rà soát các khoản thu đầu năm</ins>" in html
    assert "<del>5</del><ins>3</ins>" in html
    assert "<5 triệu>" not in html


def test_an_unedited_article_says_nothing_about_edits(
    session: Session, client_for: Callable[..., TestClient]
) -> None:
    source = Source(name="Báo Thử", url="https://baothu.example.vn/rss")
    session.add(source)
    session.commit()
    ingest(session, source, [FetchedItem(url=URL, title="Tin thường", body=BODY)])
    doc = session.scalars(select(Document)).one()
    session.commit()
    page = client_for("press_officer").get(f"/tai-lieu/{doc.id}")
    assert page.status_code == 200 and "Bài đã được sửa" not in page.text


def test_the_case_page_marks_the_edited_article_of_its_story(
    session: Session, client_for: Callable[..., TestClient]
) -> None:
    # given a case on the story of an edited article
    doc = _edited_document(session)
    alert = Alert(kind="hot", title="Lạm thu đầu năm", story_id=doc.story_id, severity="high")
    session.add(alert)
    session.commit()
    # when
    page = client_for("press_officer").get(f"/canh-bao/{alert.id}")
    # then the timeline row says the article was edited and shows the change
    assert page.status_code == 200
    assert "Bài đã được sửa (1 lần)" in page.text
    assert "<ins>Trường rà soát các khoản thu đầu năm</ins>" in page.text


def test_diff_is_word_level_escaped_and_shortens_long_unchanged_runs() -> None:
    words = " ".join(f"từ{i}" for i in range(60))
    html = str(diff_html(f"{words} <b>cũ</b>.", f"{words} mới."))
    assert html.startswith(" … ") and "từ0 " not in html and "từ59" in html
    assert "<del>&lt;b&gt;cũ&lt;/b&gt;.</del><ins>mới.</ins>" in html


def test_a_document_whose_page_is_gone_says_so(
    session: Session, client_for: Callable[..., TestClient]
) -> None:
    # given a feed item whose article page answered 410
    source = Source(name="Báo Thử", url="https://baothu.example.vn/rss")
    session.add(source)
    session.commit()
    gone = {"page_unavailable": {"status": 410, "gone": True}, "body_from": "feed"}
    ingest(session, source, [FetchedItem(url=URL, title="Tin đã gỡ", lead="Tóm tắt.", meta=gone)])
    doc = session.scalars(select(Document)).one()
    session.commit()
    # when
    page = client_for("press_officer").get(f"/tai-lieu/{doc.id}")
    # then
    assert "Trang bài gốc không truy cập được (mã 410), có thể bài đã bị gỡ" in page.text
    assert "Tóm tắt." in page.text
