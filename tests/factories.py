"""Small builders for database rows used across tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.models import Classification, Document, Source


def make_source(session: Session, name: str = "Báo Thử", **kw: object) -> Source:
    """A saved RSS source."""
    source = Source(name=name, url=kw.pop("url", "http://127.0.0.1:9/rss.xml"), **kw)
    session.add(source)
    session.flush()
    return source


def make_document(
    session: Session,
    source: Source,
    title: str,
    body: str = "",
    *,
    published_at: datetime | None = None,
    topics: list[str] | None = None,
    sentiment: str = "trung_tinh",
    risk: str = "binh_thuong",
) -> Document:
    """A saved document with one classification, not yet indexed."""
    url = f"https://bao.example.vn/{uuid.uuid4().hex}.html"
    doc = Document(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, url)),
        source_id=source.id,
        url=url,
        canonical_url=url,
        title=title,
        body=body,
        published_at=published_at or datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    )
    doc.classifications.append(
        Classification(
            model_version="test",
            topics=topics or ["khac"],
            sentiment=sentiment,
            risk=risk,
        )
    )
    session.add(doc)
    session.flush()
    return doc
