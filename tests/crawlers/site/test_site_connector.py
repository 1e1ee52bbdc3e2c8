"""The site connector end to end: fixture papers crawled through crawlers.service.crawl into
the database, once and again; traps recorded as errors; off-site links left alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import CrawlRun, Document, Source
from core.settings import Settings
from core.text import normalize
from crawlers.identity import canonical_url
from crawlers.service import crawl
from fixtureweb import PRIVATE_LINK, PressWeb
from tests.crawlers.site.conftest import site_source

PAPERS = ("baoA", "baoB", "baoC")


@pytest.fixture(scope="module")
def first(
    press_web: PressWeb, site_settings: Settings, site_session: Session
) -> dict[str, CrawlRun]:
    """Every paper registered as a site source and crawled once."""
    runs = {}
    for paper in PAPERS:
        source = site_source(press_web, paper)
        site_session.add(source)
        site_session.commit()
        runs[paper] = crawl(site_session, source.id, settings=site_settings)
    return runs


@pytest.fixture(scope="module")
def second(
    first: dict[str, CrawlRun], site_settings: Settings, site_session: Session
) -> dict[str, Any]:
    """The database before and after crawling every paper again."""
    before = _snapshot(site_session)
    runs = {p: crawl(site_session, r.source_id, settings=site_settings) for p, r in first.items()}
    site_session.expire_all()
    return {"runs": runs, "before": before, "after": _snapshot(site_session)}


def _snapshot(session: Session) -> dict[str, tuple[Any, ...]]:
    return {
        d.id: (d.url, d.content_hash, d.updated_at, d.published_at, d.story_id)
        for d in session.scalars(select(Document))
    }


def _docs(session: Session, source_id: int) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.source_id == source_id)))


def test_each_article_is_stored_once_with_its_true_fields(
    first: dict[str, CrawlRun], press_web: PressWeb, site_session: Session
) -> None:
    # given the first crawl of every paper
    for paper, run in first.items():
        truth = {canonical_url(u): e for u, e in press_web.expected().items() if e.paper == paper}
        # when
        docs = _docs(site_session, run.source_id)
        # then one document per article page, under its own canonical URL
        assert run.status == "ok", run.error
        assert (run.items_seen, run.items_new) == (len(truth), len(truth))
        assert sorted(d.canonical_url for d in docs) == sorted(truth)
        for doc in docs:
            e = truth[doc.canonical_url]
            assert doc.title == normalize(e.title)
            assert doc.lead == normalize(e.lead)
            assert doc.body == normalize("\n\n".join(e.paragraphs))
            assert doc.author == (normalize(e.author) if e.author else None)
            assert doc.published_at == e.published_at
            assert doc.meta.get("original_url") == e.original_url


def test_syndicated_copies_stay_separate_documents(
    first: dict[str, CrawlRun], press_web: PressWeb, site_session: Session
) -> None:
    # given stories published on one paper and copied to another
    truth = press_web.expected()
    copies = [e for e in truth.values() if e.syndicated]
    assert {e.original_url is None for e in copies} == {True, False}
    for copy in copies:
        original = next(e for e in truth.values() if e.story == copy.story and not e.syndicated)
        # when
        docs = site_session.scalars(
            select(Document).where(
                Document.canonical_url.in_([canonical_url(copy.url), canonical_url(original.url)])
            )
        ).all()
        # then each outlet keeps its own document, the copy pointing at the original if it says
        # so, and both belong to one story
        assert len(docs) == 2 and docs[0].source_id != docs[1].source_id
        assert docs[0].story_id is not None and docs[0].story_id == docs[1].story_id


def test_stories_group_exactly_the_syndicated_copies(
    first: dict[str, CrawlRun], press_web: PressWeb, site_session: Session
) -> None:
    # given the true story of every article page of every paper
    truth = {canonical_url(u): e.story for u, e in press_web.expected().items()}
    # when
    docs = site_session.scalars(select(Document)).all()
    # then documents share a story exactly when their articles do
    by_truth: dict[str, set[int | None]] = {}
    for doc in docs:
        by_truth.setdefault(truth[doc.canonical_url], set()).add(doc.story_id)
    assert all(len(ids) == 1 for ids in by_truth.values())
    story_ids = [next(iter(ids)) for ids in by_truth.values()]
    assert len(story_ids) == len(set(story_ids))


def test_robots_disallowed_page_is_never_fetched(
    first: dict[str, CrawlRun], press_web: PressWeb, site_session: Session
) -> None:
    # given baoA lists and maps a page under /noi-bo/, which its robots.txt disallows
    hidden = [
        e for e in press_web.expected(include_disallowed=True).values() if not e.robots_allowed
    ]
    assert hidden
    # when / then
    assert not any(p.startswith("/noi-bo/") for p in press_web.requests("baoA"))
    count = site_session.scalar(
        select(func.count()).where(Document.url.in_([e.url for e in hidden]))
    )
    assert count == 0


def test_malformed_and_oversized_pages_are_recorded_errors(
    first: dict[str, CrawlRun], press_web: PressWeb
) -> None:
    # given baoC's listing and sitemap include a malformed page and one over the size limit
    run = first["baoC"]
    traps = press_web.trap_urls()
    # when / then the crawl succeeded, with both pages named in its errors
    assert run.status == "ok" and run.error is not None
    errors = run.error.splitlines()
    assert any(traps["malformed"] in e and "no article text" in e for e in errors)
    assert any(traps["huge"] in e and "too large" in e for e in errors)
    assert len(errors) == 2


def test_off_site_and_private_links_are_not_followed(
    first: dict[str, CrawlRun], press_web: PressWeb, site_session: Session
) -> None:
    # given baoB's listing and sitemap link to baoA and to a private address
    source = site_session.get(Source, first["baoB"].source_id)
    assert source is not None
    # when
    docs = _docs(site_session, source.id)
    # then baoB's documents are all baoB's own pages
    assert docs and all(d.url.startswith(press_web.base_url("baoB") + "/") for d in docs)
    assert site_session.scalar(select(func.count()).where(Document.url == PRIVATE_LINK)) == 0
    assert source.health == "ok" and source.last_error is None


def test_recrawl_changes_nothing(second: dict[str, Any]) -> None:
    # given every paper crawled twice
    # when / then no new or updated documents, and the stored rows are untouched
    for paper, run in second["runs"].items():
        assert run.status == "ok", (paper, run.error)
        assert (run.items_new, run.items_updated) == (0, 0), paper
        assert run.items_seen > 0
    assert second["after"] == second["before"]
