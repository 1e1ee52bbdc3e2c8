"""Keeps the search index in step with the database: documents whose `indexed_at` is null
are (re)indexed in batches, so an index outage only delays search, it never loses a document."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session, selectinload

from core.db_lock import is_lock_error
from core.dberrors import is_database_busy
from core.models import Document, utcnow
from core.search.base import IndexDoc, SearchBackend

log = logging.getLogger(__name__)
# Rows per write transaction when marking or stamping documents: setting one column
# rewrites the article's row, ~0.5 ms each at 100k documents on a busy disk.
RESET_CHUNK = 250
STAMP_CHUNK = 200


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
        places=[p.code for p in doc.places],
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
            selectinload(Document.places),
            selectinload(Document.source),
        )
        # Sessions keep objects after commit (expire_on_commit=False): a document loaded
        # earlier in this session (a crawl, then alert evaluation linking units) would be
        # indexed with the labels and unit links it had then.
        .execution_options(populate_existing=True)
    ).all()
    if not docs:
        # Not left open: an idle snapshot keeps SQLite's WAL from being checkpointed.
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
        if is_lock_error(exc) or is_database_busy(exc):
            # The SQLite index shares the database's write lock: a busy database, not an
            # index outage. Nothing is recorded (that write would wait on the same lock);
            # the documents stay pending and the caller retries later.
            log.info("database busy while indexing %d documents; they stay pending", len(docs))
            raise
        log.warning("indexing %d documents failed, will retry: %s", len(docs), exc)
        session.execute(
            update(Document).where(Document.id.in_(ids)).values(index_error=str(exc)[:2000])
        )
        session.commit()
        raise
    now = utcnow()
    # A document changed while we indexed it stays pending, so the newer text is indexed.
    # One executemany through Core: an ORM UPDATE per document re-evaluated its WHERE on
    # every object in the session (1,000 documents: 11 s holding the write lock). In chunks
    # of STAMP_CHUNK, each committed: SQLite rewrites a whole article row to set one column.
    table = cast(Table, Document.__table__)
    stamp = (
        update(table)
        .where(table.c.id == bindparam("doc_id"), table.c.updated_at == bindparam("stamp"))
        .values(indexed_at=now, index_error=None)
    )
    for start in range(0, len(ids), STAMP_CHUNK):
        chunk = ids[start : start + STAMP_CHUNK]
        session.connection().execute(
            stamp, [{"doc_id": doc_id, "stamp": stamps[doc_id]} for doc_id in chunk]
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
        # Documents first, then the index: interrupted in between, every document is still
        # either indexed or pending, so --resume completes the rebuild.
        mark_all_pending(session)
        backend.clear()
    return index_all_pending(session, backend, batch=batch, progress=progress)


def mark_all_pending(session: Session, *, chunk: int = RESET_CHUNK) -> int:
    """Mark every document for (re)indexing, `chunk` rows per transaction: one UPDATE of
    100k rows held the write lock for seconds. Returns how many were marked."""
    marked = 0
    while True:
        ids = select(Document.id).where(Document.indexed_at.is_not(None)).limit(chunk)
        result = session.execute(
            update(Document)
            .where(Document.id.in_(ids.scalar_subquery()))
            .values(indexed_at=None)
            .execution_options(synchronize_session=False)
        )
        n = int(getattr(result, "rowcount", 0) or 0)
        session.commit()
        marked += n
        if n < chunk:
            return marked
