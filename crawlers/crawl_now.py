"""`diemtin crawl`: crawl one, several or all sources now in one process, index what arrived,
and say what happened to the documents (stored, waiting for the index, searchable)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.models import CrawlRun, Document, Source
from core.search.base import SearchBackend
from core.search.indexer import index_all_pending
from core.settings import Settings
from crawlers.service import crawl


@dataclass
class CrawlNowReport:
    """What one `diemtin crawl` did; the counts are of the documents its crawls stored."""

    runs: list[tuple[Source, CrawlRun]] = field(default_factory=list)
    stored: int = 0
    # Still waiting for the index when the crawls were done; the rest were indexed already
    # by whatever else indexes (a running worker, eager tasks).
    pending_after_crawl: int = 0
    indexed_here: int = 0
    searchable: int = 0
    index_error: str | None = None

    @property
    def failed(self) -> list[tuple[Source, CrawlRun]]:
        """The runs that did not end well."""
        return [(s, r) for s, r in self.runs if r.status not in ("ok", "not_modified")]


def find_sources(session: Session, refs: list[str], *, every: bool = False) -> list[Source]:
    """Sources by id or name (in the order given, each once), or every enabled source;
    LookupError names the first reference that matches none."""
    if every:
        return list(
            session.scalars(select(Source).where(Source.enabled.is_(True)).order_by(Source.id))
        )
    found: dict[int, Source] = {}
    for ref in refs:
        cond = Source.name == ref.strip()
        if ref.strip().isdigit():
            cond = or_(cond, Source.id == int(ref))
        source = session.scalar(select(Source).where(cond))
        if source is None:
            raise LookupError(ref)
        found.setdefault(source.id, source)
    return list(found.values())


def _documents_of(session: Session, runs: list[tuple[Source, CrawlRun]]) -> list[str]:
    """Ids of the documents that these runs created or changed."""
    ids: list[str] = []
    for source, run in runs:
        if not (run.items_new or run.items_updated):
            continue
        # Stamped with the ingest's start, which comes after the run's; later writes by the
        # classify queue only move updated_at further on.
        ids += session.scalars(
            select(Document.id).where(
                Document.source_id == source.id, Document.updated_at >= run.started_at
            )
        ).all()
    return ids


def _count_indexed(session: Session, ids: list[str]) -> int:
    total = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        total += int(
            session.scalar(
                select(func.count()).where(Document.id.in_(chunk), Document.indexed_at.is_not(None))
            )
            or 0
        )
    return total


def crawl_now(
    session: Session,
    sources: list[Source],
    *,
    settings: Settings,
    backend: SearchBackend,
    on_run: Callable[[Source, CrawlRun], None] | None = None,
) -> CrawlNowReport:
    """Crawl `sources` one after another (one attempt each; a failure is recorded on the
    source and the next one is crawled), then index every pending document once."""
    report = CrawlNowReport()
    for source in sources:
        run = crawl(session, source.id, settings=settings)
        report.runs.append((source, run))
        report.stored += run.items_new + run.items_updated
        if on_run:
            on_run(source, run)
    ids = _documents_of(session, report.runs)
    report.pending_after_crawl = len(ids) - _count_indexed(session, ids)
    session.commit()
    try:
        report.indexed_here = index_all_pending(session, backend)
    except Exception as exc:
        # Recorded on the documents by the indexer; the worker's index tick retries them.
        session.rollback()
        report.index_error = f"{type(exc).__name__}: {exc}"[:300]
    report.searchable = _count_indexed(session, ids)
    session.commit()
    return report


def summary_vi(report: CrawlNowReport) -> str:
    """One Vietnamese sentence on what became of the stored documents: stored N, waiting
    for the index M, searchable K of N (and how many this command indexed itself)."""
    stored, pending = report.stored, report.pending_after_crawl
    if not stored:
        text = "Không có tài liệu mới hay thay đổi"
    else:
        text = f"Đã lưu {stored} tài liệu; {pending} chờ lập chỉ mục sau khi quét"
        if stored > pending:
            text += f" ({stored - pending} đã được tiến trình nền lập chỉ mục trước)"
        text += f"; {report.searchable}/{stored} đã tìm kiếm được"
    text += f" (lệnh này lập chỉ mục {report.indexed_here} tài liệu)"
    missing = stored - report.searchable
    if missing:
        text += f"; {missing} tài liệu còn chờ và sẽ được lập chỉ mục lại tự động"
    if report.index_error:
        text += f"; lỗi chỉ mục: {report.index_error}"
    return text + "."
