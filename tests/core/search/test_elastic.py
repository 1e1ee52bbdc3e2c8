"""The Elasticsearch backend through the shared contract, plus what is specific to it.

Runs against noida-db's Elasticsearch-compatible server (tests/core/search/conftest.py) or a
real cluster named by DIEMTIN_TEST_ELASTICSEARCH_URL."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from uuid import uuid4

import pytest
from elasticsearch import TransportError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document
from core.search import get_backend
from core.search.base import IndexDoc, SearchQuery
from core.search.elastic import ElasticBackend, IndexingError
from core.search.elastic_query import ANALYZER, index_settings, to_es
from core.search.indexer import index_pending, pending_count
from core.search.query import parse
from core.settings import Settings
from core.text import tokens
from tests.conftest import reset_caches
from tests.core.search.contract import SearchContract
from tests.core.search.corpus import DOCS
from tests.factories import make_document, make_source


def _backend(url: str) -> ElasticBackend:
    # A fresh prefix per test: tests never see each other's documents.
    return ElasticBackend(url, prefix=f"test-{uuid4().hex[:12]}")


@pytest.fixture
def es_backend(elasticsearch_url: str) -> Iterator[ElasticBackend]:
    backend = _backend(elasticsearch_url)
    backend.setup()
    yield backend
    backend.drop()


class TestElastic(SearchContract):
    @pytest.fixture
    def backend(self, es_backend: ElasticBackend) -> ElasticBackend:
        return es_backend


# -- translation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["title:giáo", 'NEAR(a b, 2) "*', "{giáo dục} ^x", "a OR bc* -d", "GD&ĐT"]
)
def test_user_text_never_reaches_query_syntax(query: str) -> None:
    # the tree becomes match / match_phrase / prefix clauses; no query_string anywhere
    node = parse(query)
    assert node is not None
    dsl = json.dumps(to_es(node))
    assert "query_string" not in dsl and "simple_query_string" not in dsl


def test_translation_of_each_node() -> None:
    node = parse('"lạm thu" tuyen* -lớp')
    assert node is not None
    dsl = to_es(node)
    positive, negative = dsl["bool"]["must"][0], dsl["bool"]["must_not"][0]
    phrase, prefix = positive["bool"]["must"]
    assert phrase["bool"]["should"][0] == {
        "match_phrase": {"title": {"query": "lam thu", "boost": 3.0}}
    }
    assert prefix["bool"]["should"][2] == {"prefix": {"body": {"value": "tuyen", "boost": 1.0}}}
    assert negative["bool"]["minimum_should_match"] == 1


def test_index_tokens_are_the_query_parsers_tokens(es_backend: ElasticBackend) -> None:
    # what the analyzer indexes must be what core.text.tokens makes of a query, or words that
    # the parser splits ("1.000" -> "1", "000") would never match
    texts = [d.title for d in DOCS] + [d.body for d in DOCS]
    texts += ["1.000 học sinh, lớp 3.5", "x_y GD&ĐT e-learning", "ĐỒNG THÁP Thuỷ hoà"]
    for text in texts:
        resp = es_backend.es.indices.analyze(index=es_backend.alias, analyzer=ANALYZER, text=text)
        assert [t["token"] for t in resp["tokens"]] == tokens(text), text


# -- index layout -------------------------------------------------------------------------


def test_icu_folding_only_where_every_node_has_the_plugin(es_backend: ElasticBackend) -> None:
    # noida-db has no plugins: the template falls back to asciifolding without complaint
    assert es_backend._has_icu() is False
    template = es_backend.es.indices.get_index_template(name=es_backend.alias)
    analysis = template["index_templates"][0]["index_template"]["template"]["settings"]["index"]
    assert analysis["analysis"]["analyzer"][ANALYZER]["filter"] == ["lowercase", "asciifolding"]
    # with ICU, asciifolding still runs last so đ -> d whatever the ICU version
    icu = index_settings(icu=True)["analysis"]["analyzer"][ANALYZER]["filter"]
    assert icu == ["lowercase", "icu_folding", "asciifolding"]


def test_setup_is_idempotent_across_instances(
    es_backend: ElasticBackend, elasticsearch_url: str
) -> None:
    # given a set-up backend holding documents; when another instance sets up the same prefix
    es_backend.index(DOCS)
    es_backend.refresh()
    twin = ElasticBackend(elasticsearch_url, prefix=es_backend.prefix)
    twin.setup()
    es_backend._ready = False
    es_backend.setup()
    # then nothing is recreated or lost
    assert es_backend._indices() == [f"{es_backend.alias}-000001"]
    assert twin.count() == len(DOCS)


def test_reindexing_after_rollover_updates_in_place(es_backend: ElasticBackend) -> None:
    # given documents in the first index, and a rollover
    es_backend.index(DOCS)
    es_backend.refresh()
    assert es_backend.rollover(force=True)
    assert es_backend._indices() == [f"{es_backend.alias}-000001", f"{es_backend.alias}-000002"]
    # when an old document is re-indexed and a new one arrives
    es_backend.index(
        [replace(DOCS[1], title="Nhà trường đã trả lại tiền", body="Đã xong."), DOCS[0]]
        + [IndexDoc(id="new", title="tin mới", body="")]
    )
    es_backend.refresh()
    # then the old one is replaced where it lived and the new one goes to the new index
    assert es_backend.count() == len(DOCS) + 1
    where = es_backend._route(["d2", "d1", "new"])
    assert where == (
        f"{es_backend.alias}-000002",
        {"d2": f"{es_backend.alias}-000001", "d1": f"{es_backend.alias}-000001"},
    )
    assert es_backend.search(SearchQuery(q='"lạm thu"')).total == 0
    assert [h.id for h in es_backend.search(SearchQuery(q="trả lại tiền")).hits] == ["d2"]
    # and deleting reaches both indices; clear starts over with one index
    es_backend.delete(["d2", "new", "unknown"])
    es_backend.refresh()
    assert es_backend.count() == len(DOCS) - 1
    es_backend.clear()
    assert es_backend._indices() == [f"{es_backend.alias}-000001"]
    assert es_backend.count() == 0


def test_rejected_documents_raise_so_the_batch_stays_pending(es_backend: ElasticBackend) -> None:
    # a source id beyond the integer mapping is refused by the cluster for that document
    bad = IndexDoc(id="bad", title="x", body="", source_id=2**40)
    with pytest.raises(IndexingError, match="1 of 2 documents were not written; first: bad"):
        es_backend.index([bad, DOCS[0]])


def test_highlight_fragment_marks_cuts(es_backend: ElasticBackend) -> None:
    long_body = "Mở đầu bài viết dài. " * 30 + "Học sinh giỏi được khen thưởng. " + "Kết. " * 80
    es_backend.index([IndexDoc(id="long", title="Tin dài", lead="Tóm tắt.", body=long_body)])
    es_backend.refresh()
    hit = es_backend.search(SearchQuery(q="khen thưởng")).hits[0]
    assert "<mark>khen</mark> <mark>thưởng</mark>" in hit.snippet_html
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    assert hit.title_html == "Tin dài"


def test_an_outage_leaves_documents_pending(session: Session, es_backend: ElasticBackend) -> None:
    # given two documents in the database and a cluster that cannot be reached
    source = make_source(session)
    make_document(session, source, "Giáo dục Đà Nẵng", "Năm học mới.")
    make_document(session, source, "Tuyển sinh lớp 10", "Chỉ tiêu tăng.")
    session.commit()
    down = ElasticBackend(f"http://127.0.0.1:{_closed_port()}", prefix=es_backend.prefix)
    # when the indexer runs; then it fails and both stay pending with the error recorded
    with pytest.raises(TransportError):
        index_pending(session, down)
    assert pending_count(session) == 2
    assert all(d.index_error for d in session.scalars(select(Document)))
    # and once the cluster answers, the next run indexes them
    assert index_pending(session, es_backend) == 2
    es_backend.refresh()
    assert pending_count(session) == 0
    assert [h.title for h in es_backend.search(SearchQuery(q="da nang")).hits] == [
        "Giáo dục Đà Nẵng"
    ]


def test_get_backend_chooses_elasticsearch(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, elasticsearch_url: str
) -> None:
    monkeypatch.setenv("DIEMTIN_SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setenv("DIEMTIN_ELASTICSEARCH_URL", elasticsearch_url)
    reset_caches()
    backend = get_backend()
    assert isinstance(backend, ElasticBackend) and backend.ping()


def test_unreachable_cluster_pings_false() -> None:
    backend = ElasticBackend(f"http://127.0.0.1:{_closed_port()}", request_timeout=2)
    assert backend.ping() is False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
