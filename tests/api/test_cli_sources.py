"""`diemtin source add/edit` with a source's config (sitemaps, listings, selectors,
since_days, concurrency): before, it could only be written into the database by hand."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from core.models import AuditLog, Document, Source
from core.settings import Settings
from fixtureweb import PressWeb

runner = CliRunner()


def _config(session: Session, name: str) -> dict:
    session.expire_all()
    config = session.scalar(select(Source.config).where(Source.name == name))
    # SQLite writers take the lock at BEGIN: end this read before the CLI writes.
    session.rollback()
    return config  # type: ignore[return-value]


def test_source_add_and_edit_write_the_config_that_was_only_writable_by_hand(
    settings: Settings, session: Session
) -> None:
    # when: added with the convenience flags
    added = runner.invoke(
        app,
        [
            "source", "add", "Báo Site", "http://127.0.0.1:9/", "--kind", "site",
            "--sitemap", "http://127.0.0.1:9/sitemap.xml",
            "--sitemap", "http://127.0.0.1:9/sitemap-news.xml",
            "--since-days", "3", "--concurrency", "2",
        ],
    )  # fmt: skip
    # then
    assert added.exit_code == 0, added.output
    assert _config(session, "Báo Site") == {
        "sitemaps": ["http://127.0.0.1:9/sitemap.xml", "http://127.0.0.1:9/sitemap-news.xml"],
        "since_days": 3,
        "concurrency": 2,
    }
    # when: edited with JSON merged into it (null removes a key)
    edited = runner.invoke(
        app,
        [
            "source", "edit", "Báo Site", "--listing", "http://127.0.0.1:9/giao-duc",
            "--config", '{"article_selector": "h3 a", "concurrency": null}',
        ],
    )  # fmt: skip
    assert edited.exit_code == 0, edited.output
    assert _config(session, "Báo Site") == {
        "sitemaps": ["http://127.0.0.1:9/sitemap.xml", "http://127.0.0.1:9/sitemap-news.xml"],
        "listings": ["http://127.0.0.1:9/giao-duc"],
        "article_selector": "h3 a",
        "since_days": 3,
    }
    # and replaced whole from a file, with the other fields of the source
    path = Path(settings.data_dir) / "cau-hinh.json"
    path.write_text('{"sitemaps": ["http://127.0.0.1:9/s.xml"]}', encoding="utf-8")
    replaced = runner.invoke(
        app,
        ["source", "edit", "Báo Site", "--config-file", str(path), "--replace-config",
         "--interval", "600", "--disable"],
    )  # fmt: skip
    assert replaced.exit_code == 0, replaced.output
    assert _config(session, "Báo Site") == {"sitemaps": ["http://127.0.0.1:9/s.xml"]}
    source = session.scalar(select(Source).where(Source.name == "Báo Site"))
    assert source is not None and (source.poll_interval_s, source.enabled) == (600, False)
    actions = session.scalars(select(AuditLog.action).where(AuditLog.entity == "source")).all()
    session.rollback()
    assert list(actions) == ["source.update", "source.update"]
    listing = runner.invoke(app, ["source", "list"])
    assert 'cấu hình: {"sitemaps": ["http://127.0.0.1:9/s.xml"]}' in listing.output


def test_bad_config_on_the_command_line_is_refused_in_vietnamese(
    settings: Settings, session: Session
) -> None:
    # given
    ok = runner.invoke(app, ["source", "add", "Báo Site", "http://127.0.0.1:9/", "--kind", "site"])
    assert ok.exit_code == 0, ok.output
    cases = [
        (["--since-days", "-1"], "since_days phải là số ngày từ 0 đến 3650"),
        (["--concurrency", "500"], "concurrency phải là số nguyên từ 1 đến 64"),
        (["--config", '{"concurency": 2}'], "không có khóa «concurency»"),
        (["--config", '{"since_days": 2,}'], "--config không phải JSON hợp lệ (dòng 1, cột"),
        (["--config", "[1, 2]"], "--config phải là một đối tượng JSON"),
        (["--listing", "http://127.0.0.1:9/ds"], "thì cần article_selector"),
        (["--config-file", "khong-co.json"], "Không đọc được tệp khong-co.json"),
    ]
    new = ["source", "add", "Báo Mới", "http://127.0.0.1:9/", "--kind", "site"]
    for args, message in cases:
        # when: the same config given to a new source and to an existing one
        added = runner.invoke(app, [*new, *args])
        edited = runner.invoke(app, ["source", "edit", "Báo Site", *args])
        # then: the reason in Vietnamese (the box of the error may wrap it), nothing saved
        for result in (added, edited):
            assert result.exit_code != 0, args
            assert message in " ".join(result.output.replace("│", " ").split()), result.output
    assert _config(session, "Báo Site") == {}
    assert session.scalar(select(func.count()).select_from(Source)) == 1
    nothing = runner.invoke(app, ["source", "edit", "Báo Site"])
    assert nothing.exit_code != 0 and "Không có gì để sửa" in nothing.output


def test_a_site_source_configured_by_the_cli_is_crawled_with_that_config(
    settings: Settings, session: Session
) -> None:
    with PressWeb() as web:
        # given: the paper's sitemap and listing, given on the command line only
        path = Path(settings.data_dir) / "bao-a.json"
        path.write_text(json.dumps(web.source_config("baoA")), encoding="utf-8")
        added = runner.invoke(
            app,
            ["source", "add", "Báo A", web.base_url("baoA") + "/", "--kind", "site",
             "--config-file", str(path), "--concurrency", "8"],
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        # when
        crawled = runner.invoke(app, ["crawl", "Báo A"])
        # then: the articles the config leads to are stored
        assert crawled.exit_code == 0, crawled.output
        expected = {u for u, a in web.expected().items() if a.paper == "baoA"}
    stored = session.scalar(select(func.count()).select_from(Document))
    assert expected and stored == len(expected), crawled.output
