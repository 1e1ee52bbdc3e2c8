"""Ingest stores the 2025 provinces and communes each document is about (document_places)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.geo.choice import set_province
from core.models import Document, DocumentPlace, Source
from crawlers.connectors.base import FetchedItem
from crawlers.pipeline import ingest


@pytest.fixture
def source(session: Session) -> Source:
    src = Source(name="Báo Địa Phương Thử", url="http://127.0.0.1:9/rss.xml")
    session.add(src)
    session.commit()
    return src


def _item(n: int, title: str, body: str = "") -> FetchedItem:
    return FetchedItem(
        url=f"https://baothu.example.vn/bai-{n}.html",
        title=title,
        lead="",
        body=body or "Nhà trường cho biết sẽ báo cáo Sở Giáo dục và Đào tạo trong tuần.",
        published_at=datetime(2026, 11, n, 1, tzinfo=UTC),
        native_id=f"guid-{n}",
    )


def _places(session: Session, doc_id: str) -> set[tuple[str, str]]:
    rows = session.execute(
        select(DocumentPlace.code, DocumentPlace.kind).where(DocumentPlace.document_id == doc_id)
    )
    return {(r.code, r.kind) for r in rows}


def _doc(session: Session, n: int) -> Document:
    doc = session.scalar(select(Document).where(Document.native_id == f"guid-{n}"))
    assert doc is not None
    return doc


def test_old_names_and_communes_are_stored_as_2025_places(session: Session, source: Source) -> None:
    # given: old province, a commune, no diacritics, and a story with no place
    items = [
        _item(1, "Học sinh xã Tu Mơ Rông, tỉnh Kon Tum (cũ) vượt suối đến trường"),
        _item(2, "Hoc sinh TP.HCM va Ha Noi thi lop 10"),
        _item(3, "Bộ ban hành quy chế thi tốt nghiệp mới"),
    ]
    # when
    ingest(session, source, items)
    # then: Quảng Ngãi is 51, Tu Mơ Rông 23425; Hà Nội 01, Hồ Chí Minh 79
    assert _places(session, _doc(session, 1).id) == {("51", "province"), ("23425", "commune")}
    assert _places(session, _doc(session, 2).id) == {("01", "province"), ("79", "province")}
    assert _places(session, _doc(session, 3).id) == set()


def test_an_edited_article_moves_and_the_own_province_breaks_ties(
    session: Session, source: Source
) -> None:
    # given: "xã An Phú" is in An Giang, Hải Phòng and Quảng Ngãi; no province chosen yet
    ingest(session, source, [_item(4, "Học sinh xã An Phú nhận học bổng")])
    assert _places(session, _doc(session, 4).id) == set()
    # when: the Department's province is chosen and the outlet edits the article
    set_province(session, "Quảng Ngãi")
    session.commit()
    ingest(session, source, [_item(4, "Học sinh xã An Phú được nhận học bổng vượt khó")])
    # then: the tie goes to the own province (xã An Phú, Quảng Ngãi: 21034)
    assert _places(session, _doc(session, 4).id) == {("51", "province"), ("21034", "commune")}
    # when: the outlet corrects the place
    ingest(session, source, [_item(4, "Học sinh xã An Phú, TP. Hải Phòng nhận học bổng")])
    # then
    places = _places(session, _doc(session, 4).id)
    assert ("31", "province") in places and ("51", "province") not in places
