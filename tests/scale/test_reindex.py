"""`diemtin reindex` rebuilds either backend from the database, resumes an interrupted
rebuild where it stopped, and reports progress."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from core.models import Document
from core.search import SearchQuery, get_backend
from core.search.indexer import index_all_pending, reindex
from core.settings import Settings, get_settings
from tests.core.search.conftest import elasticsearch_url  # noqa: F401 (session fixture)
from tests.factories import make_document, make_source

N = 12


def _fill(session: Session) -> None:
    source = make_source(session, "Báo Lập Chỉ Mục")
    for i in range(N):
        make_document(session, source, f"Bài {i} về kỳ thi tốt nghiệp", "Học sinh ôn thi.")
    session.commit()


@pytest.mark.parametrize("backend_name", ["sqlite", "elasticsearch"])
def test_interrupted_reindex_resumes_with_progress(
    session: Session,
    settings: Settings,
    backend_name: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: documents in the database, indexed once
    if backend_name == "elasticsearch":
        url = request.getfixturevalue("elasticsearch_url")
        monkeypatch.setenv("DIEMTIN_ELASTICSEARCH_URL", url)
        get_settings.cache_clear()
        settings = get_settings()
    chosen = settings.copy_with(search={"backend": backend_name})
    backend = get_backend(chosen)
    backend.setup()
    backend.clear()
    _fill(session)
    index_all_pending(session, backend)
    # when: a rebuild is interrupted (Ctrl-C) after its first batch
    seen: list[tuple[int, int]] = []

    def interrupt(done: int, remaining: int) -> None:
        seen.append((done, remaining))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reindex(session, backend, batch=5, progress=interrupt)
    session.rollback()
    # then: the first batch is in, the rest still pending
    assert seen == [(5, N - 5)]
    pending = select(func.count()).where(Document.indexed_at.is_(None))
    assert session.scalar(pending) == N - 5
    session.rollback()
    # when: resumed from the command line
    result = CliRunner().invoke(
        app, ["reindex", "--resume", "--batch", "4", "--backend", backend_name]
    )
    # then: only the rest was indexed, with progress lines, and everything is found
    assert result.exit_code == 0, result.output
    assert "4 đã xong, còn 3" in result.output and "7 tài liệu" in result.output
    assert session.scalar(pending) == 0
    session.rollback()
    backend.refresh()
    assert backend.search(SearchQuery(q="tot nghiep", size=50)).total == N
    # and a full rebuild starts over, through the same command
    full = CliRunner().invoke(app, ["reindex", "--backend", backend_name])
    assert full.exit_code == 0 and f"{N} tài liệu" in full.output
    assert backend.search(SearchQuery(q="tot nghiep", size=50)).total == N


def test_reindex_refuses_an_unknown_backend(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["reindex", "--backend", "solr"])
    assert result.exit_code != 0 and "solr" in result.output
