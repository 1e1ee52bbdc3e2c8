"""Re-poll check of bench/ingest.py: each kind of source is crawled twice with nothing
changed on the server, and the second poll's effect is counted from the database.

Issue 14: a second RSS poll emptied the stored body of 41 of 41 documents and split two
stories. Three sources, one per way text arrives:
- "rss summaries": a feed of our own (title, link, a one-sentence description; no ETag, no
  full text) in front of the fixture papers' article pages, syndicated copies included, so
  the first poll reads each page (crawlers.enrich) and the second sees the summaries again;
- "rss full text": a fixture paper's own feed (content:encoded);
- "site": a fixture paper's sitemaps through the site connector.
The source's ETag/Last-Modified are dropped before the second poll: an outlet that ignores
conditional GET (most do) serves the whole feed again. Before/after the second poll each
document's content hash, body length, story and updated_at are read from the database.

    python bench/ingest_repoll.py
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# crawlers.enrich reads at most 30 article pages per poll.
FEED_ITEMS = 30


@dataclass
class Repoll:
    """What an unchanged second poll did to one source's documents."""

    mode: str
    documents: int = 0
    added: int = 0
    updated: int = 0
    shortened: int = 0
    stories_changed: int = 0
    stories_before: int = 0
    stories_after: int = 0
    status: str = ""


class SummaryFeed:
    """An RSS feed of summaries only (no content:encoded, no ETag) linking to `urls`."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        # The fixture web's builder and server; imported after use_bench_env, as the rest is.
        from fixtureweb.rss import FeedItem, rss_feed
        from fixtureweb.serve import Site

        xml = rss_feed(
            title="Tin tóm tắt",
            link="http://127.0.0.1/",
            description="Bản tin tóm tắt",
            items=[
                FeedItem(
                    title=i["title"],
                    link=i["url"],
                    guid=i["url"],
                    published_at=i["published_at"],
                    lead=i["summary"],
                )
                for i in items
            ],
        )
        reply = (200, "application/rss+xml; charset=utf-8", xml, {})
        self.site = Site(lambda _path, _headers: reply, name="summary-feed").start()
        self.url = f"{self.site.base_url}/rss.xml"

    def stop(self) -> None:
        """Stop serving."""
        self.site.stop()


def _snapshot(session: Any, source_id: int) -> dict[str, tuple[str, int, int | None, Any]]:
    from sqlalchemy import select

    from core.models import Document

    rows = session.execute(
        select(
            Document.id, Document.content_hash, Document.body, Document.story_id,
            Document.updated_at,
        ).where(Document.source_id == source_id)
    )  # fmt: skip
    snap = {r[0]: (r[1], len(r[2] or ""), r[3], r[4]) for r in rows}
    session.rollback()
    return snap


def _poll_twice(session: Any, source: Any, mode: str, settings: Any, classifier: Any) -> Repoll:
    from core.models import Source
    from crawlers.service import crawl

    crawl(session, source.id, settings=settings, classifier=classifier)
    before = _snapshot(session, source.id)
    src = session.get(Source, source.id)
    src.etag = src.last_modified = None
    session.commit()
    run = crawl(session, source.id, settings=settings, classifier=classifier)
    after = _snapshot(session, source.id)
    result = Repoll(mode=mode, documents=len(before), status=run.status)
    result.added = len(set(after) - set(before))
    for doc_id, (h0, n0, s0, u0) in before.items():
        h1, n1, s1, u1 = after.get(doc_id, (None, 0, None, None))
        result.updated += h1 != h0 or u1 != u0
        result.shortened += n1 < n0
        result.stories_changed += s1 != s0
    result.stories_before = len({v[2] for v in before.values()})
    result.stories_after = len({v[2] for v in after.values()})
    return result


def bench_repoll(web: Any, workdir: Path, settings: Any, classifier: Any) -> list[Repoll]:
    """Poll one source of each kind twice, nothing changed in between; each into its own
    database under `workdir` (they share articles, and a document stays with the source
    that stored it first)."""
    from core.db import migrate, new_session
    from core.models import Source

    allowed = [a for a in web.articles() if a.robots_allowed]
    # Syndicated copies first: an original and its copies in one feed are one story, the
    # case the issue saw split apart by a re-poll.
    shared = {a.story for a in allowed if a.copy_of}
    articles = sorted(allowed, key=lambda a: a.story not in shared)[:FEED_ITEMS]
    feed = SummaryFeed(
        [
            {
                "title": a.title,
                "url": web.article_url(a),
                "published_at": a.published_at,
                # One sentence: what an outlet's <description> usually holds.
                "summary": a.lead.split(". ")[0],
            }
            for a in articles
        ]
    )
    sources = [
        ("rss summaries", Source(name="repoll rss summaries", kind="rss", url=feed.url)),
        ("rss full text", Source(name="repoll rss full", kind="rss", url=web.feed_url("baoB"))),
        (
            "site",
            Source(
                name="repoll site",
                kind="site",
                url=web.base_url("baoC") + "/",
                config=web.source_config(
                    "baoC", listings=[], concurrency=16, target_concurrency=16, start_delay_s=0
                ),
            ),
        ),
    ]
    results = []
    try:
        for n, (mode, source) in enumerate(sources):
            db_url = f"sqlite:///{workdir / f'repoll{n}.db'}"
            migrate(db_url)
            session = new_session(db_url)
            try:
                session.add(source)
                session.commit()
                results.append(_poll_twice(session, source, mode, settings, classifier))
            finally:
                session.close()
    finally:
        feed.stop()
    return results


def repoll_line(results: list[Repoll]) -> str:
    """The bench's re-poll line: documents updated / bodies shortened / stories changed."""
    updated = sum(r.updated for r in results)
    shortened = sum(r.shortened for r in results)
    moved = sum(r.stories_changed for r in results)
    detail = "; ".join(
        f"{r.mode}: {r.documents} docs, {r.updated}/{r.shortened}/{r.stories_changed}"
        f", stories {r.stories_before}->{r.stories_after}"
        + (f", {r.added} added" if r.added else "")
        + (f", second poll {r.status}" if r.status != "ok" else "")
        for r in results
    )
    return (
        f"re-poll of unchanged sources ({detail}): documents updated {updated} / "
        f"bodies shortened {shortened} / stories changed {moved} (target 0 / 0 / 0)"
    )


def use_bench_env(workdir: Path) -> None:
    """Settings for a bench run: embedded default in `workdir`, loopback sources allowed
    (the crawl's child process reads them too)."""
    import os

    os.environ.update(
        DIEMTIN_DATA_DIR=str(workdir),
        DIEMTIN_DATABASE_URL="",
        DIEMTIN_SEARCH_BACKEND="sqlite",
        DIEMTIN_ALLOWED_PRIVATE_NETWORKS="127.0.0.1/32",
        DIEMTIN_BROKER_URL="",
        DIEMTIN_CELERY_EAGER="false",
    )


def main() -> None:
    import shutil
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="diemtin-bench-repoll-"))
    use_bench_env(workdir)
    import crawlers.connectors.site  # noqa: F401  (registers kind "site")
    from core.settings import get_settings
    from fixtureweb import PressWeb

    sys.path.insert(0, str(ROOT / "bench"))
    from ingest import NullClassifier

    settings = get_settings()
    try:
        with PressWeb(settings=settings) as web:
            results = bench_repoll(web, workdir, settings, NullClassifier())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(repoll_line(results))


if __name__ == "__main__":
    main()
