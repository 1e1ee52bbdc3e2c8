"""The contract every SearchBackend passes. A backend's test module subclasses
`SearchContract` and provides a `backend` fixture returning an empty, set-up backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from core.search.base import (
    MAX_RESULT_WINDOW,
    IndexDoc,
    QuerySyntaxError,
    SearchBackend,
    SearchQuery,
)
from tests.core.search.corpus import DOCS

HOSTILE_QUERIES = [
    '"*',
    "NEAR(",
    "NEAR(a b, 2)",
    '"unbalanced quote',
    "a OR",
    "AND",
    "OR OR OR giáo",
    ")))",
    "(((giáo",
    "title:giáo",
    "^giáo",
    "{giáo dục}",
    "giáo*dục",
    "*",
    "-",
    "--giáo",
    "'; DROP TABLE search_docs; --",
    "giáo\x00dục",
    "giáo dục" * 60,
    "a" * 999,
    '"" AND ""',
    "NOT NOT giáo",
    "\u200bgiáo\u200b",
]


def ids(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {h.id for h in result.hits}


class SearchContract:
    @pytest.fixture
    def loaded(self, backend: SearchBackend) -> SearchBackend:
        backend.index(DOCS)
        backend.refresh()
        return backend

    def find(self, backend: SearchBackend, q: str = "", **kw: object) -> set[str]:
        return ids(backend.search(SearchQuery(q=q, size=100, **kw)))  # type: ignore[arg-type]

    # -- matching ----------------------------------------------------------------------

    def test_accent_insensitive(self, loaded: SearchBackend) -> None:
        # given documents with "giáo dục"; when searching without diacritics; then they match
        assert self.find(loaded, "giao duc") == {"d1"}
        assert self.find(loaded, "GIÁO DỤC") == {"d1"}

    def test_d_and_dj_are_the_same_letter(self, loaded: SearchBackend) -> None:
        assert self.find(loaded, "da nang") == {"d3"}
        assert self.find(loaded, "Đồng Tháp") == {"d6", "d8"}
        assert self.find(loaded, "dong thap") == {"d6", "d8"}

    def test_tone_mark_placement_variants(self, loaded: SearchBackend) -> None:
        # d5 is written with new-style marks (hoà, Thuỷ); classic-style queries find it
        assert self.find(loaded, "hòa bình") == {"d5"}
        assert self.find(loaded, "thủy nguyên") == {"d5"}
        assert self.find(loaded, "hoà") == {"d5"}

    def test_phrase_needs_adjacent_words(self, loaded: SearchBackend) -> None:
        assert self.find(loaded, '"lạm thu"') == {"d2"}
        assert self.find(loaded, "lạm thu") == {"d2", "d4"}
        assert self.find(loaded, '"phụ huynh bức xúc"') == {"d2"}

    def test_boolean_operators(self, loaded: SearchBackend) -> None:
        assert self.find(loaded, "phụ huynh AND thu") == {"d2", "d4"}
        assert self.find(loaded, "đuối OR huy chương") == {"d5", "d3"}
        assert self.find(loaded, "phụ huynh NOT lớp") == {"d2"}
        assert self.find(loaded, "phụ huynh -lớp") == {"d2"}
        assert self.find(loaded, "(đuối OR huy chương) AND Đà Nẵng") == {"d3"}

    def test_vietnamese_operators(self, loaded: SearchBackend) -> None:
        assert self.find(loaded, "phụ huynh VÀ thu KHÔNG lớp") == {"d2"}
        assert self.find(loaded, "đuối HOẶC huy chương") == {"d5", "d3"}
        # lowercase "và"/"không" are ordinary words, not operators
        assert self.find(loaded, "sở giáo dục và đào tạo") == {"d1"}

    def test_pure_exclusion_means_everything_else(self, loaded: SearchBackend) -> None:
        assert self.find(loaded, 'NOT "phụ huynh"') == {d.id for d in DOCS} - {"d2", "d4"}

    def test_exclusion_inside_or_is_refused_clearly(self, loaded: SearchBackend) -> None:
        with pytest.raises(QuerySyntaxError):
            loaded.search(SearchQuery(q="giáo OR NOT dục"))

    def test_prefix(self, loaded: SearchBackend) -> None:
        assert self.find(loaded, "tuyen*") == {"d3", "d6", "d8"}
        assert self.find(loaded, "tuyển*") == {"d3", "d6", "d8"}

    def test_empty_query_matches_all(self, loaded: SearchBackend) -> None:
        result = loaded.search(SearchQuery(q="", size=100))
        assert result.total == len(DOCS)

    # -- filters -----------------------------------------------------------------------

    def test_filters(self, loaded: SearchBackend) -> None:
        assert self.find(loaded, sources=[2]) == {"d2", "d5", "d7"}
        assert self.find(loaded, sources=[1, 3]) == {"d1", "d3", "d4", "d6", "d8"}
        assert self.find(loaded, topics=["hoc_phi_thu_chi"]) == {"d2", "d4"}
        assert self.find(loaded, sentiments=["tieu_cuc"]) == {"d2", "d7"}
        assert self.find(loaded, risks=["nong", "theo_doi"]) == {"d2", "d4", "d5", "d7"}
        assert self.find(loaded, units=[11]) == {"d2", "d5"}
        assert self.find(loaded, "phụ huynh", risks=["nong"]) == {"d2"}

    def test_place_filter_and_facet(self, backend: SearchBackend) -> None:
        # given: documents about Quảng Ngãi (51) and its xã Tu Mơ Rông (23425), Hà Nội (01)
        backend.index([
            IndexDoc(id="p1", title="Học sinh vượt suối", body="", places=["51", "23425"]),
            IndexDoc(id="p2", title="Trường mới khánh thành", body="", places=["51"]),
            IndexDoc(id="p3", title="Tuyển sinh lớp 10", body="", places=["01"]),
            IndexDoc(id="p4", title="Quy chế thi mới", body=""),
        ])  # fmt: skip
        backend.refresh()
        # when / then: the filter, one place or several
        assert self.find(backend, places=["51"]) == {"p1", "p2"}
        assert self.find(backend, places=["23425"]) == {"p1"}
        assert self.find(backend, places=["23425", "01"]) == {"p1", "p3"}
        (hit,) = backend.search(SearchQuery(q="vượt suối")).hits
        assert sorted(hit.places) == ["23425", "51"]
        # the facet counts both levels, with the places' names
        result = backend.search(SearchQuery(q="", facets=True))
        facet = {b.value: (b.count, b.label) for b in result.facets["place"]}
        assert facet == {
            "51": (2, "Quảng Ngãi"),
            "23425": (1, "Xã Tu Mơ Rông (Quảng Ngãi)"),
            "01": (1, "Hà Nội"),
        }

    def test_time_range(self, loaded: SearchBackend) -> None:
        start = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
        end = datetime(2026, 11, 5, 23, 59, tzinfo=UTC)
        assert self.find(loaded, date_from=start, date_to=end) == {"d2", "d3", "d4"}
        assert self.find(loaded, "phụ huynh", date_from=datetime(2026, 11, 4, tzinfo=UTC)) == {"d4"}

    # -- facets, histogram, sorting, paging ----------------------------------------------

    def test_facets_count_all_matches(self, loaded: SearchBackend) -> None:
        result = loaded.search(SearchQuery(q="phụ huynh", size=1, facets=True))
        assert result.total == 2 and len(result.hits) == 1
        facets = {f: {b.value: b.count for b in bs} for f, bs in result.facets.items()}
        assert facets["topic"] == {"hoc_phi_thu_chi": 2}
        assert facets["source"] == {"2": 1, "3": 1}
        assert facets["risk"] == {"nong": 1, "theo_doi": 1}
        assert facets["sentiment"] == {"tieu_cuc": 1, "trung_tinh": 1}
        assert facets["unit"] == {"11": 1}
        labels = {b.value: b.label for b in result.facets["source"]}
        assert labels["3"] == "Diễn đàn Phụ huynh"

    def test_histogram_uses_local_days(self, loaded: SearchBackend) -> None:
        result = loaded.search(SearchQuery(q="", histogram="day", sources=[1]))
        # d3 was published 20:00 UTC on 3 Nov, which is 03:00 on 4 Nov in Hanoi; d8 has no date
        assert [(b.value, b.count) for b in result.histogram] == [
            ("2026-11-02", 1),
            ("2026-11-04", 1),
        ]
        monthly = loaded.search(SearchQuery(q="", histogram="month"))
        assert [(b.value, b.count) for b in monthly.histogram] == [("2026-11-01", 7)]

    def test_sort_by_time_newest_first_undated_last(self, loaded: SearchBackend) -> None:
        result = loaded.search(SearchQuery(q="", sort="time", size=100))
        assert [h.id for h in result.hits] == ["d7", "d6", "d5", "d4", "d3", "d2", "d1", "d8"]

    def test_relevance_prefers_title_matches(self, loaded: SearchBackend) -> None:
        result = loaded.search(SearchQuery(q="tuyển dụng giáo viên"))
        assert result.hits[0].id == "d8"
        assert result.hits[0].score >= max(h.score for h in result.hits)

    # -- spelling and proximity (issue 18) -------------------------------------------------

    SPELLING_DOCS = [
        IndexDoc(
            id="s1",
            title="Đổi mới giáo dục phổ thông",
            body="Ngành giáo dục tỉnh triển khai chương trình mới cho học sinh các cấp.",
        ),
        # "giao" and "Đức" (folded: duc) many times, never side by side in that order
        IndexDoc(
            id="s2",
            title="Bác sĩ Đức giao ca sau đêm trực",
            body="Tai nạn giao thông trên quốc lộ; bác sĩ Đức cấp cứu nạn nhân. Ông Đức giao "
            "lại ca trực lúc sáng, khi xe cứu thương giao người bệnh cho tuyến trên.",
        ),
        IndexDoc(
            id="s3",
            title="Học sinh đạt giải khoa học kỹ thuật",
            body="Em Lan được Phòng giáo dục khen thưởng sau cuộc thi cấp tỉnh năm nay.",
        ),
        IndexDoc(
            id="s4",
            title="Giáo dục hướng nghiệp ở trường vùng cao",
            body="Thầy Đức hướng dẫn học sinh chọn nghề.",
        ),
        # typed without diacritics, as many social posts are
        IndexDoc(id="s5", title="Giao duc la quoc sach", body="Moi nguoi deu noi vay."),
    ]

    def test_exclusion_with_diacritics_removes_only_that_spelling(
        self, backend: SearchBackend
    ) -> None:
        # given education stories ("dục") and stories naming a man "Đức"
        backend.index(self.SPELLING_DOCS)
        backend.refresh()
        # when excluding "Đức" typed with diacritics; then only that spelling is excluded
        assert self.find(backend, "giáo dục -Đức") == {"s1", "s3", "s5"}
        assert self.find(backend, "giáo dục NOT đức") == {"s1", "s3", "s5"}
        assert self.find(backend, "NOT Đức") == {"s1", "s3", "s5"}
        assert self.find(backend, 'giao NOT "bác sĩ Đức"') == {"s1", "s3", "s4", "s5"}
        # without diacritics an exclusion stays accent-insensitive: every "duc" goes
        assert self.find(backend, "giáo dục -duc") == set()

    def test_words_side_by_side_outrank_scattered_ones(self, backend: SearchBackend) -> None:
        backend.index(self.SPELLING_DOCS)
        backend.refresh()
        hits = backend.search(SearchQuery(q="giao duc", size=10)).hits
        order = [h.id for h in hits]
        # the doctor story matches by folding, but its words are scattered: it comes last
        assert set(order) == {"s1", "s2", "s3", "s4", "s5"} and order[-1] == "s2"
        # the phrase in the title beats the phrase in the body only
        assert order.index("s1") < order.index("s3") and order.index("s4") < order.index("s3")
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

    def test_words_typed_with_diacritics_rank_that_spelling_first(
        self, backend: SearchBackend
    ) -> None:
        backend.index(self.SPELLING_DOCS)
        backend.refresh()
        # without diacritics, "Giao duc la quoc sach" (phrase in its title) beats s3
        plain = [h.id for h in backend.search(SearchQuery(q="giao duc", size=10)).hits]
        assert plain.index("s5") < plain.index("s3")
        # typed "giáo dục": every spelling still matches, the exact one first
        spelled = [h.id for h in backend.search(SearchQuery(q="giáo dục", size=10)).hits]
        assert set(spelled) == set(plain)
        assert set(spelled[:3]) == {"s1", "s3", "s4"} and spelled[-1] == "s2"

    def test_pagination(self, loaded: SearchBackend) -> None:
        pages = [loaded.search(SearchQuery(q="", sort="time", size=3, page=p)) for p in (1, 2, 3)]
        seen = [h.id for p in pages for h in p.hits]
        assert len(seen) == len(set(seen)) == len(DOCS)
        assert all(p.total == len(DOCS) for p in pages)
        assert loaded.search(SearchQuery(q="", size=3, page=9)).hits == []

    @pytest.mark.parametrize(
        "query",
        [
            SearchQuery(size=0),
            SearchQuery(size=101),
            SearchQuery(page=0),
            SearchQuery(page=MAX_RESULT_WINDOW, size=2),
            SearchQuery(
                date_from=datetime(2026, 2, 1, tzinfo=UTC), date_to=datetime(2026, 1, 1, tzinfo=UTC)
            ),
            SearchQuery(q="x" * 1001),
        ],
    )
    def test_invalid_queries_are_refused_clearly(
        self, loaded: SearchBackend, query: SearchQuery
    ) -> None:
        with pytest.raises(QuerySyntaxError):
            loaded.search(query)

    @pytest.mark.parametrize("q", HOSTILE_QUERIES)
    def test_hostile_queries_never_crash(self, loaded: SearchBackend, q: str) -> None:
        try:
            result = loaded.search(SearchQuery(q=q, facets=True, histogram="day"))
        except QuerySyntaxError as exc:
            assert str(exc)  # a message for the user
        else:
            assert result.total >= 0

    # -- highlighting --------------------------------------------------------------------

    def test_highlights_accented_text_for_unaccented_query(self, loaded: SearchBackend) -> None:
        hit = loaded.search(SearchQuery(q="giao duc")).hits[0]
        assert "<mark>Giáo</mark> <mark>dục</mark>" in hit.title_html
        assert "<mark>giáo</mark> <mark>dục</mark>" in hit.snippet_html

    def test_scraped_markup_is_escaped(self, loaded: SearchBackend) -> None:
        hit = loaded.search(SearchQuery(q="clip lan truyền")).hits[0]
        assert "<script>" not in hit.snippet_html
        assert "&lt;script&gt;" in hit.snippet_html

    # -- writing -------------------------------------------------------------------------

    def test_reindexing_a_document_replaces_it(self, loaded: SearchBackend) -> None:
        # given d2 indexed; when it is indexed again with new text; then only the new text matches
        loaded.index([replace(DOCS[1], title="Nhà trường đã trả lại tiền", body="Đã xong.")])
        loaded.refresh()
        assert loaded.count() == len(DOCS)
        assert self.find(loaded, '"lạm thu"') == set()
        assert self.find(loaded, "trả lại tiền") == {"d2"}

    def test_duplicate_ids_in_one_batch_keep_the_last(self, backend: SearchBackend) -> None:
        first = IndexDoc(id="x", title="bản một", body="")
        second = IndexDoc(id="x", title="bản hai", body="")
        backend.index([first, second])
        backend.refresh()
        assert backend.count() == 1
        assert self.find(backend, "hai") == {"x"}

    def test_delete_and_clear(self, loaded: SearchBackend) -> None:
        loaded.delete(["d1", "unknown"])
        loaded.refresh()
        assert self.find(loaded, "giao duc") == set()
        assert loaded.count() == len(DOCS) - 1
        loaded.clear()
        loaded.refresh()
        assert loaded.count() == 0
        assert loaded.ping()
