"""When an outlet edits an article, the version it replaced is kept with its time; a new
spelling of the same words (tone-mark placement) or a feed summary completed by its page
is not an edit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Document, DocumentRevision, Source
from core.settings import Settings
from crawlers.connectors.base import FetchedItem
from crawlers.identity import canonical_url, document_id
from crawlers.pipeline import ingest
from crawlers.revisions import MAX_REVISIONS
from crawlers.service import crawl
from tests.crawlers.conftest import LocalServer
from tests.crawlers.newsroom import Article, Newsroom, paragraphs

PATH = "/tin/hoc-phi.html"


def _revisions(session: Session) -> list[DocumentRevision]:
    return list(session.scalars(select(DocumentRevision).order_by(DocumentRevision.id)))


def test_an_edited_headline_and_body_keep_the_replaced_version(
    session: Session, settings: Settings, server: LocalServer
) -> None:
    # given an article read from its page on the first poll
    room = Newsroom(server)
    article = room.add(
        Article(
            PATH,
            "Trường thu 5 triệu đồng tiền trái tuyến",
            "Phụ huynh bức xúc.",
            paragraphs("học phí"),
        )
    )
    source = room.source(session)
    crawl(session, source.id, settings=settings)
    doc_id = document_id(canonical_url(server.url(PATH)))
    old = session.get(Document, doc_id)
    assert old is not None
    old_title, old_body = old.title, old.body
    # when the outlet softens the headline and edits a paragraph after the outcry
    article.title = "Trường rà soát các khoản thu đầu năm"
    article.paragraphs = [*article.paragraphs[:-1], "Nhà trường đã hoàn trả toàn bộ khoản thu."]
    run = crawl(session, source.id, settings=settings)
    # then the document shows the new text and the old one is kept as a revision
    session.expire_all()
    doc = session.get(Document, doc_id)
    assert doc is not None and run.items_updated == 1
    assert doc.title == "Trường rà soát các khoản thu đầu năm"
    assert "hoàn trả" in doc.body
    (rev,) = _revisions(session)
    assert (rev.document_id, rev.title, rev.body) == (doc_id, old_title, old_body)
    assert rev.replaced_at == doc.updated_at
    assert [r.title for r in doc.revisions] == [old_title]


def test_a_tone_mark_respelling_is_stored_verbatim_without_a_revision_or_story_move(
    session: Session,
) -> None:
    # given a document stored with the new-style spelling
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(source)
    session.commit()
    url = "https://baothu.example.vn/tin/thanh-hoa.html"
    when = datetime(2026, 12, 1, 1, tzinfo=UTC)
    body = "Sở Giáo dục Thanh Hoá kiểm tra việc dạy thêm ở các trường thành phố."
    ingest(
        session,
        source,
        [FetchedItem(url=url, title="Thanh Hoá siết dạy thêm", body=body, published_at=when)],
    )
    doc = session.scalars(select(Document)).one()
    story = doc.story_id
    # when the outlet's page now spells it the classic way
    new_body = body.replace("Hoá", "Hóa")
    stats = ingest(
        session,
        source,
        [FetchedItem(url=url, title="Thanh Hóa siết dạy thêm", body=new_body, published_at=when)],
    )
    # then the text follows the page verbatim, with no revision and no story move
    session.refresh(doc)
    assert stats.updated == 1 and doc.title == "Thanh Hóa siết dạy thêm" and doc.body == new_body
    assert _revisions(session) == [] and doc.story_id == story


def test_a_page_edited_over_and_over_keeps_its_newest_revisions(session: Session) -> None:
    # given
    source = Source(name="Báo Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(source)
    session.commit()
    url = "https://baothu.example.vn/tin/cap-nhat.html"
    # when the page changes more often than revisions are kept
    for n in range(MAX_REVISIONS + 3):
        ingest(
            session,
            source,
            [FetchedItem(url=url, title=f"Cập nhật lần {n}", body=f"Nội dung số {n}.")],
        )
    # then only the newest MAX_REVISIONS versions are kept
    titles = [r.title for r in _revisions(session)]
    assert len(titles) == MAX_REVISIONS
    assert titles[-1] == f"Cập nhật lần {MAX_REVISIONS + 1}"
    assert session.scalar(select(func.count()).select_from(Document)) == 1
