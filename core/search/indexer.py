"""Keeps the search index in step with the database: documents whose `indexed_at` is null
are (re)indexed in batches, so an index outage only delays search, it never loses a document."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from core.models import Document, utcnow
from core.search.base import IndexDoc, SearchBackend

log = logging.getLogger(__name__)


def to_index_doc(doc: Document) -> IndexDoc:
    """What the search backend needs of one document."""
    cls = doc.classification
    return IndexDoc(
        id=doc.id,
        title=doc.title,
        lead=doc.lead,
        body=doc.body,
        url=doc.canonical_url or doc.url,
        published_at=doc.published_at or doc.fetched_at,
        source_id=doc.source_id,
        source_name=doc.source.name if doc.source else "",
        topics=list(cls.topics) if cls else [],
        sentiment=cls.sentiment if cls else None,
        risk=cls.risk if cls else None,
        units=[u.id for u in doc.units],
        story_id=doc.story_id,
    )


def pending_count(session: Session) -> int:
    """How many documents wait to be indexed."""
    return int(session.scalar(select(func.count()).where(Document.indexed_at.is_(None))) or 0)


def index_pending(session: Session, backend: SearchBackend, *, batch: int = 500) -> int:
    """Index one batch of unindexed documents; returns how many were indexed.

    On a backend error the batch stays unindexed (with the error recorded) and the next
    call retries it."""
    docs = session.scalars(
        select(Document)
        .where(Document.indexed_at.is_(None))
        .order_by(Document.fetched_at, Document.id)
        .limit(batch)
        .options(
            selectinload(Document.classifications),
            selectinload(Document.units),
            selectinload(Document.source),
        )
    ).all()
    if not docs:
        # Not left open: on SQLite the transaction holds the write lock (BEGIN IMMEDIATE).
        session.commit()
        return 0
    ids = [d.id for d in docs]
    stamps = {d.id: d.updated_at for d in docs}
    batch_docs = [to_index_doc(d) for d in docs]
    # End the read before the backend writes: on SQLite the index lives in the same file and
    # this session's open transaction would hold the lock the backend needs.
    session.commit()
    try:
        backend.index(batch_docs)
    except Exception as exc:
        log.warning("indexing %d documents failed, will retry: %s", len(docs), exc)
        session.execute(
            update(Document).where(Document.id.in_(ids)).values(index_error=str(exc)[:2000])
        )
        session.commit()
        raise
    now = utcnow()
    for doc_id in ids:
        # A document changed while we indexed it stays pending, so the newer text is indexed.
        session.execute(
            update(Document)
            .where(Document.id == doc_id, Document.updated_at == stamps[doc_id])
            .values(indexed_at=now, index_error=None)
        )
    session.commit()
    return len(docs)


def index_all_pending(
    session: Session,
    backend: SearchBackend,
    *,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Index every pending document; `progress(done, remaining)` after each batch."""
    done = 0
    while n := index_pending(session, backend, batch=batch):
        done += n
        if progress:
            progress(done, pending_count(session))
    backend.refresh()
    return done


def reindex(
    session: Session,
    backend: SearchBackend,
    *,
    resume: bool = False,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuild the index from the database; with `resume`, continue an interrupted rebuild."""
    backend.setup()
    if not resume:
        backend.clear()
        session.execute(update(Document).values(indexed_at=None))
        session.commit()
    return index_all_pending(session, backend, batch=batch, progress=progress)
