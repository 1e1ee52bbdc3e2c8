"""The `diemtin` command line against a real database and the demo press site."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from core.models import Document, User
from core.search import SearchQuery, get_backend
from core.security import verify_password
from core.settings import Settings
from fixtureweb.demo import DemoSite

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_migrate_twice(settings: Settings) -> None:
    assert invoke("migrate").exit_code == 0
    result = invoke("migrate")
    assert result.exit_code == 0 and "phiên bản mới nhất" in result.output


def test_user_add(settings: Settings, session: Session) -> None:
    result = invoke("user", "add", "thuy", "--role", "leadership", "--password", "mat-khau-dai")
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "thuy"))
    assert user is not None and user.role == "leadership"
    assert verify_password("mat-khau-dai", user.password_hash)
    assert not verify_password("sai", user.password_hash)
    # SQLite writers take the lock up front: end this read before the CLI writes again
    session.rollback()
    # a second user with the same name, or a short password, is refused with a message
    again = runner.invoke(app, ["user", "add", "thuy", "--password", "mat-khau-dai"])
    assert again.exit_code != 0 and "đã tồn tại" in again.output
    short = runner.invoke(app, ["user", "add", "lan", "--password", "123"])
    assert short.exit_code != 0 and "8 ký tự" in short.output


def test_source_add_list_crawl_reindex(settings: Settings, session: Session) -> None:
    with DemoSite(settings=settings, extra_limit=0) as site:
        # given a source added by URL
        result = invoke("source", "add", "Báo mẫu", site.feed_url, "--interval", "60")
        assert result.exit_code == 0, result.output
        bad = runner.invoke(app, ["source", "add", "Hỏng", "ftp://x/y"])
        assert bad.exit_code != 0
        listing = invoke("source", "list")
        assert "Báo mẫu" in listing.output and "unknown" in listing.output
        # when it is crawled
        crawled = invoke("crawl", "Báo mẫu")
        assert crawled.exit_code == 0, crawled.output
    # then its documents are stored and searchable without diacritics
    count = len(session.scalars(select(Document.id)).all())
    session.rollback()
    assert count > 0 and f"{count}/{count} đã tìm kiếm được" in crawled.output
    backend = get_backend(settings)
    found = backend.search(SearchQuery(q="giao duc")).total
    assert found > 0
    assert "ok" in invoke("source", "list").output
    # and a full reindex rebuilds the same index, resumably
    rebuilt = invoke("reindex", "--batch", "5")
    assert rebuilt.exit_code == 0 and f"{count} tài liệu" in rebuilt.output
    assert backend.search(SearchQuery(q="giao duc")).total == found
    assert "0 tài liệu" in invoke("reindex", "--resume").output


def test_crawl_unknown_source(settings: Settings) -> None:
    result = runner.invoke(app, ["crawl", "khong-co"])
    assert result.exit_code != 0 and "Không có nguồn tin" in result.output
