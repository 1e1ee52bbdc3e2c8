"""Core Celery tasks: keeping the search index in step with the database."""

from __future__ import annotations

import logging

from core.celery_app import INDEX_DOCUMENTS, app
from core.db import session_scope
from core.dberrors import is_database_busy
from core.search import get_backend
from core.search.indexer import index_pending
from core.settings import get_settings

log = logging.getLogger(__name__)


@app.task(name=INDEX_DOCUMENTS)
def index_documents(max_batches: int = 20) -> int:
    """Index pending documents (the beat runs this every few seconds; safe to run twice)."""
    settings = get_settings()
    backend = get_backend(settings)
    done = 0
    with session_scope() as session:
        for _ in range(max_batches):
            try:
                n = index_pending(session, backend, batch=settings.search.index_batch)
            except Exception as exc:
                if is_database_busy(exc):
                    # A lock, not the backend: the task is retried (DiemtinTask), and what
                    # earlier batches indexed is committed already.
                    raise
                # Already recorded on the documents; the next tick retries them.
                log.exception("search backend unavailable; documents stay pending")
                break
            if not n:
                break
            done += n
    if done:
        backend.refresh()
    return done
