"""The locality stage of ingest: the 2025 provinces and communes each new or changed document
is about (core.geo.locate), kept in document_places for search, scoring and reports."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.geo.locate import Locality, locate
from core.models import Document, DocumentPlace
from crawlers.labelling import joined_text


def locate_texts(texts: dict[str, str], own: str | None) -> dict[str, Locality]:
    """doc id -> what its text is about; `own` (the Department's province) breaks ties."""
    return {doc_id: locate(text, own=own) for doc_id, text in texts.items()}


def place_rows(locality: Locality) -> list[DocumentPlace]:
    """The document_places rows of one document's locality."""
    return [DocumentPlace(code=c, kind="province") for c in locality.provinces] + [
        DocumentPlace(code=c, kind="commune") for c in locality.communes
    ]


def store_places(session: Session, doc: Document, locality: Locality | None) -> None:
    """Make the document's places exactly its locality (a changed text may move it)."""
    if locality is None:
        return
    wanted = {(r.code, r.kind) for r in place_rows(locality)}
    if {(p.code, p.kind) for p in doc.places} != wanted:
        doc.places = [DocumentPlace(code=c, kind=k) for c, k in sorted(wanted)]


def relocate_all(session: Session, own: str | None, *, chunk: int = 500) -> int:
    """Locate every stored document again (after an upgrade or a change of province); the
    ones whose places changed are marked for the search indexer. Returns how many changed."""
    changed = 0
    last = ""
    while True:
        docs = list(
            session.scalars(
                select(Document)
                .where(Document.id > last)
                .order_by(Document.id)
                .limit(chunk)
                .options(selectinload(Document.places))
            )
        )
        if not docs:
            return changed
        for doc in docs:
            before = {(p.code, p.kind) for p in doc.places}
            store_places(session, doc, locate(joined_text(doc.title, doc.lead, doc.body), own))
            if {(p.code, p.kind) for p in doc.places} != before:
                doc.indexed_at = None
                changed += 1
        last = docs[-1].id
        # One short write per chunk: crawls keep writing meanwhile.
        session.commit()
