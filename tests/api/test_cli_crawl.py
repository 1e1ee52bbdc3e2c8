"""`diemtin crawl`: what it says about indexing, and several sources in one process."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from core.celery_app import configure
from core.models import CrawlRun, Document, Source, utcnow
from core.search import SearchQuery, get_backend
from core.settings import Settings, get_settings
from fixtureweb.demo import DemoArticle, DemoSite

runner = CliRunner()


def _articles(prefix: str, n: int) -> list[DemoArticle]:
    return [
        DemoArticle(
            slug=f"{prefix}-{i}",
            title=f"Trường {prefix} số {i} tổ chức hội giảng giáo viên dạy giỏi",
            lead=f"Hội giảng ở trường {prefix} số {i} kéo dài một tuần.",
            paragraphs=[f"Giáo viên trường {prefix} số {i} dự giờ lẫn nhau để học hỏi."],
            published_at=utcnow() - timedelta(hours=i + 1),
        )
        for i in range(n)
    ]


@pytest.fixture
def two_sites(session: Session) -> Iterator[tuple[DemoSite, DemoSite]]:
    with (
        DemoSite(articles=_articles("alpha", 2)) as a,
        DemoSite(articles=_articles("beta", 3)) as b,
    ):
        session.add_all(
            [
                Source(name="Báo Alpha", url=a.feed_url, poll_interval_s=900),
                Source(name="Báo Beta", url=b.feed_url, poll_interval_s=900),
            ]
        )
        session.commit()
        yield a, b


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/rss.xml"


def _count(session: Session, model: type) -> int:
    n = int(session.scalar(select(func.count()).select_from(model)) or 0)
    # SQLite writers take the lock at BEGIN: end this read before the CLI writes.
    session.rollback()
    return n


@pytest.fixture
def eager_tasks(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tasks run at once in-process: the pipeline's index_documents indexes new documents
    before the command's own indexing pass, as a running worker does."""
    import core.tasks  # noqa: F401  (registers index_documents)

    monkeypatch.setenv("DIEMTIN_CELERY_EAGER", "true")
    get_settings.cache_clear()
    configure(get_settings())
    yield
    monkeypatch.setenv("DIEMTIN_CELERY_EAGER", "false")
    get_settings.cache_clear()
    configure(get_settings())


def test_crawl_does_not_say_0_indexed_when_a_worker_indexed_the_documents_first(
    settings: Settings,
    session: Session,
    two_sites: tuple[DemoSite, DemoSite],
    eager_tasks: None,
) -> None:
    # when
    result = runner.invoke(app, ["crawl", "Báo Alpha"], catch_exceptions=False)
    # then: both documents are searchable and the command says so
    assert result.exit_code == 0, result.output
    assert get_backend(settings).search(SearchQuery(q="truong alpha")).total == 2
    assert "Đã lưu 2 tài liệu; 0 chờ lập chỉ mục sau khi quét" in result.output
    assert "2 đã được tiến trình nền lập chỉ mục trước" in result.output
    assert "2/2 đã tìm kiếm được" in result.output
    assert "Đã lập chỉ mục 0 tài liệu" not in result.output


def test_crawl_says_stored_pending_and_searchable_when_it_indexes_itself(
    settings: Settings, session: Session, two_sites: tuple[DemoSite, DemoSite]
) -> None:
    # when: no worker is running (the embedded broker only queues the index task)
    result = runner.invoke(app, ["crawl", "Báo Beta"], catch_exceptions=False)
    # then
    assert result.exit_code == 0, result.output
    assert "Báo Beta: ok; thấy 3, mới 3, cập nhật 0" in result.output
    assert "Đã lưu 3 tài liệu; 3 chờ lập chỉ mục sau khi quét; 3/3 đã tìm kiếm được" in (
        result.output
    )
    assert "lệnh này lập chỉ mục 3 tài liệu" in result.output
    # and a second crawl of an unchanged feed stores nothing
    again = runner.invoke(app, ["crawl", "Báo Beta"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "Không có tài liệu mới hay thay đổi" in again.output


def test_crawl_all_runs_every_enabled_source_in_one_process(
    settings: Settings, session: Session, two_sites: tuple[DemoSite, DemoSite]
) -> None:
    # given: a third source that is switched off
    session.add(Source(name="Báo đã tắt", url=_dead_url(), enabled=False))
    session.commit()
    # when
    result = runner.invoke(app, ["crawl", "--all"], catch_exceptions=False)
    # then: both enabled sources in one command, one indexing pass for all of them
    assert result.exit_code == 0, result.output
    assert "Báo Alpha: ok" in result.output and "Báo Beta: ok" in result.output
    assert "Báo đã tắt" not in result.output
    assert "Đã lưu 5 tài liệu" in result.output and "5/5 đã tìm kiếm được" in result.output
    assert _count(session, Document) == 5 and _count(session, CrawlRun) == 2


def test_crawl_of_several_names_goes_on_after_a_failure_and_exits_1(
    settings: Settings, session: Session, two_sites: tuple[DemoSite, DemoSite]
) -> None:
    # given: one named source that cannot be reached
    session.add(Source(name="Báo tắt máy", url=_dead_url()))
    session.commit()
    # when: named by name and by id, the dead one first
    beta_id = session.scalar(select(Source.id).where(Source.name == "Báo Beta"))
    session.rollback()
    result = runner.invoke(app, ["crawl", "Báo tắt máy", "Báo Alpha", str(beta_id)])
    # then: the others are still crawled and indexed; the exit status reports the failure
    assert result.exit_code == 1, result.output
    assert "Báo tắt máy: failed" in result.output
    assert "Báo Alpha: ok" in result.output and "Báo Beta: ok" in result.output
    assert "5/5 đã tìm kiếm được" in result.output
    # and an unknown name stops the command before anything is crawled
    runs = _count(session, CrawlRun)
    unknown = runner.invoke(app, ["crawl", "Báo Alpha", "khong-co"])
    assert unknown.exit_code != 0 and "Không có nguồn tin 'khong-co'" in unknown.output
    assert _count(session, CrawlRun) == runs
    nothing = runner.invoke(app, ["crawl"])
    assert nothing.exit_code != 0 and "--all" in nothing.output
