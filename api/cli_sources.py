"""`diemtin source ...`: add, edit and list sources, with each kind's config checked."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import func, or_, select

from api.cli_errors import ensure_schema
from api.cli_help import local_time
from core.audit import audit
from core.db import session_scope
from core.models import Document, Source, utcnow
from core.settings import get_settings
from crawlers.source_config import public_config
from crawlers.sources import add_source, edit_source

source_app = typer.Typer(help="Nguồn tin.", no_args_is_help=True)

ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        help='Cấu hình theo loại nguồn, dạng JSON, ví dụ \'{"sitemaps": ["https://..."]}\'',
    ),
]
ConfigFileOpt = Annotated[
    Path | None, typer.Option("--config-file", help="Tệp JSON chứa cấu hình nguồn")
]
SitemapOpt = Annotated[
    list[str] | None, typer.Option("--sitemap", help="Sơ đồ trang (sitemap); lặp lại được")
]
ListingOpt = Annotated[
    list[str] | None,
    typer.Option("--listing", help="Trang danh sách bài (cần --article-selector); lặp lại được"),
]
SelectorOpt = Annotated[
    str | None, typer.Option("--article-selector", help="Bộ chọn CSS của liên kết bài viết")
]
SinceOpt = Annotated[
    float | None, typer.Option("--since-days", help="Bỏ qua bài cũ hơn số ngày này (0: không)")
]
ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", help="Số yêu cầu song song tới trang báo")
]


def config_from_options(
    config: str | None,
    config_file: Path | None,
    *,
    sitemaps: list[str] | None = None,
    listings: list[str] | None = None,
    article_selector: str | None = None,
    since_days: float | None = None,
    concurrency: int | None = None,
) -> dict[str, Any] | None:
    """The config the options describe (None: none given); BadParameter on unreadable JSON.
    The convenience flags win over the same keys in --config / --config-file."""
    if config is not None and config_file is not None:
        raise typer.BadParameter("Chỉ dùng một trong --config và --config-file.")
    text, where = config, "--config"
    if config_file is not None:
        try:
            text, where = config_file.read_text(encoding="utf-8"), str(config_file)
        except OSError as exc:
            raise typer.BadParameter(f"Không đọc được tệp {config_file}: {exc.strerror}.") from None
    result: dict[str, Any] | None = None
    if text is not None:
        try:
            result = json.loads(text)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(
                f"{where} không phải JSON hợp lệ (dòng {exc.lineno}, cột {exc.colno})."
            ) from None
        if not isinstance(result, dict):
            raise typer.BadParameter(
                f'{where} phải là một đối tượng JSON, ví dụ {{"since_days": 2}}.'
            )
    flags = {
        "sitemaps": sitemaps or None,
        "listings": listings or None,
        "article_selector": article_selector,
        "since_days": since_days,
        "concurrency": concurrency,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    if given:
        result = {**(result or {}), **given}
    return result


def _show_config(source: Source) -> str:
    return json.dumps(public_config(source.config), ensure_ascii=False, sort_keys=True)


def find_source(session: Any, ref: str) -> Source:
    """A source by id or name; BadParameter when there is none."""
    cond = Source.name == ref
    if ref.isdigit():
        cond = or_(cond, Source.id == int(ref))
    source = session.scalar(select(Source).where(cond))
    if source is None:
        raise typer.BadParameter(f"Không có nguồn tin {ref!r} (xem `diemtin source list`).")
    return source


@source_app.command(
    "add", help="Thêm nguồn tin cần quét, kèm cấu hình theo loại (kiểm tra trước khi lưu)."
)
def source_add(
    name: Annotated[str, typer.Argument(help="Tên nguồn tin")],
    url: Annotated[str, typer.Argument(help="Địa chỉ (RSS, trang chủ, trang mạng xã hội)")],
    kind: Annotated[
        str, typer.Option(help="Loại nguồn: rss | site | facebook | youtube | forum")
    ] = "rss",
    interval: Annotated[int | None, typer.Option(help="Chu kỳ quét (giây)", min=30)] = None,
    scope: Annotated[
        str,
        typer.Option(
            help="Phạm vi: local (địa phương) | national (trung ương) | social (mạng xã hội)"
        ),
    ] = "national",
    config: ConfigOpt = None,
    config_file: ConfigFileOpt = None,
    sitemap: SitemapOpt = None,
    listing: ListingOpt = None,
    article_selector: SelectorOpt = None,
    since_days: SinceOpt = None,
    concurrency: ConcurrencyOpt = None,
) -> None:
    """Add a source to crawl, with its kind's config (checked before it is saved)."""
    settings_ = config_from_options(
        config,
        config_file,
        sitemaps=sitemap,
        listings=listing,
        article_selector=article_selector,
        since_days=since_days,
        concurrency=concurrency,
    )
    ensure_schema()
    with session_scope() as session:
        try:
            src = add_source(
                session,
                name=name,
                url=url,
                kind=kind,
                poll_interval_s=interval,
                scope=scope,
                config=settings_,
                settings=get_settings(),
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(f"Đã thêm nguồn #{src.id} {src.name}.")
        if src.config:
            typer.echo(f"Cấu hình: {_show_config(src)}")


@source_app.command(
    "edit", help="Sửa nguồn tin: tên, địa chỉ, chu kỳ, phạm vi, bật/tắt và cấu hình."
)
def source_edit(
    source: Annotated[str, typer.Argument(help="Mã số hoặc tên nguồn tin")],
    name: Annotated[str | None, typer.Option(help="Tên mới")] = None,
    url: Annotated[str | None, typer.Option(help="Địa chỉ mới")] = None,
    interval: Annotated[int | None, typer.Option(help="Chu kỳ quét (giây)", min=30)] = None,
    scope: Annotated[
        str | None,
        typer.Option(
            help="Phạm vi: local (địa phương) | national (trung ương) | social (mạng xã hội)"
        ),
    ] = None,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Bật hoặc tắt nguồn")
    ] = None,
    config: ConfigOpt = None,
    config_file: ConfigFileOpt = None,
    replace_config: Annotated[
        bool,
        typer.Option(
            "--replace-config",
            help="Thay cả cấu hình (mặc định: gộp vào cấu hình cũ; khóa có giá trị null bị xóa)",
        ),
    ] = False,
    sitemap: SitemapOpt = None,
    listing: ListingOpt = None,
    article_selector: SelectorOpt = None,
    since_days: SinceOpt = None,
    concurrency: ConcurrencyOpt = None,
) -> None:
    """Change a source: name, URL, interval, scope, on/off, and its config."""
    changes = config_from_options(
        config,
        config_file,
        sitemaps=sitemap,
        listings=listing,
        article_selector=article_selector,
        since_days=since_days,
        concurrency=concurrency,
    )
    if replace_config and changes is None:
        raise typer.BadParameter("--replace-config cần --config hoặc --config-file.")
    if changes is None and all(v is None for v in (name, url, interval, scope, enable)):
        raise typer.BadParameter("Không có gì để sửa (xem `diemtin source edit --help`).")
    ensure_schema()
    with session_scope() as session:
        src = find_source(session, source)
        try:
            edit_source(
                session,
                src,
                settings=get_settings(),
                name=name,
                url=url,
                scope=scope,
                poll_interval_s=interval,
                enabled=enable,
                config=changes,
                replace_config=replace_config,
            )
        except ValueError as exc:
            session.rollback()
            raise typer.BadParameter(str(exc)) from None
        given = {
            "name": name, "url": url, "poll_interval_s": interval, "scope": scope,
            "enabled": enable, "config": public_config(changes) if changes else changes,
        }  # fmt: skip
        audit(
            session,
            None,
            "source.update",
            "source",
            src.id,
            {**{k: v for k, v in given.items() if v is not None}, "by": "cli"},
        )
        typer.echo(f"Đã sửa nguồn #{src.id} {src.name}. Cấu hình: {_show_config(src)}")


@source_app.command("list", help="Liệt kê nguồn tin và tình trạng của từng nguồn.")
def source_list() -> None:
    """List sources with their health."""
    ensure_schema()
    with session_scope() as session:
        rows = session.scalars(select(Source).order_by(Source.id)).all()
        if not rows:
            typer.echo("Chưa có nguồn tin nào.")
        since = utcnow() - timedelta(days=1)
        per_day = dict(
            session.execute(
                select(Document.source_id, func.count())
                .where(Document.fetched_at >= since)
                .group_by(Document.source_id)
            ).all()
        )
        tz = get_settings().timezone
        for s in rows:
            state = s.health if s.enabled else "disabled"
            last = local_time(s.last_success_at, tz)
            typer.echo(
                f"#{s.id:<4} {state:<8} {s.kind:<8} {s.name} <{s.url}> "
                f"lần tốt gần nhất: {last}; {s.items_total} tin, "
                f"{per_day.get(s.id, 0)} tin/24 giờ; "
                f"lỗi liên tiếp: {s.consecutive_failures}"
                + (f"; lỗi: {s.last_error[:120]}" if s.last_error and s.health != "ok" else "")
                + (f"; cấu hình: {_show_config(s)}" if s.config else "")
            )
