"""The `diemtin` command line: run, migrate, crawl, reindex, users and sources."""

from __future__ import annotations

import getpass
import logging
import time
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import func, or_, select

from api.cli_corrections import corrections_app
from core.db import migrate as run_migrations
from core.db import session_scope
from core.models import Document, Role, Source, User, utcnow
from core.security import hash_password
from core.settings import get_settings

app = typer.Typer(help="diemtin: theo dõi báo chí về giáo dục.", no_args_is_help=True)
user_app = typer.Typer(help="Người dùng.", no_args_is_help=True)
source_app = typer.Typer(help="Nguồn tin.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(source_app, name="source")
app.add_typer(corrections_app, name="corrections")


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    run_migrations()
    typer.echo(f"Cơ sở dữ liệu đã ở phiên bản mới nhất: {get_settings().db_url}")


def _find_source(session, ref: str) -> Source:  # type: ignore[no-untyped-def]
    cond = Source.name == ref
    if ref.isdigit():
        cond = or_(cond, Source.id == int(ref))
    source = session.scalar(select(Source).where(cond))
    if source is None:
        raise typer.BadParameter(f"Không có nguồn tin {ref!r} (xem `diemtin source list`).")
    return source


@app.command()
def crawl(source: Annotated[str, typer.Argument(help="Mã số hoặc tên nguồn tin")]) -> None:
    """Crawl one source now, then index what arrived."""
    from core.search import get_backend
    from core.search.indexer import index_all_pending
    from crawlers.service import crawl as crawl_source

    run_migrations()
    with session_scope() as session:
        src = _find_source(session, source)
        run = crawl_source(session, src.id)
        typer.echo(
            f"{src.name}: {run.status}; thấy {run.items_seen}, mới {run.items_new}, "
            f"cập nhật {run.items_updated}" + (f"; lỗi: {run.error}" if run.error else "")
        )
        indexed = index_all_pending(session, get_backend())
        typer.echo(f"Đã lập chỉ mục {indexed} tài liệu.")
        if run.status != "ok":
            raise typer.Exit(code=1)


@app.command()
def reindex(
    resume: Annotated[bool, typer.Option(help="Tiếp tục lần lập chỉ mục bị gián đoạn")] = False,
    batch: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
) -> None:
    """Rebuild the search index from the database (resumable with --resume)."""
    from core.search import get_backend
    from core.search.indexer import reindex as rebuild

    run_migrations()
    started = time.monotonic()

    def progress(done: int, remaining: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-6)
        typer.echo(f"  {done} đã xong, còn {remaining} ({rate:.0f} tài liệu/giây)")

    with session_scope() as session:
        total = rebuild(session, get_backend(), resume=resume, batch=batch, progress=progress)
    typer.echo(f"Lập chỉ mục xong: {total} tài liệu trong {time.monotonic() - started:.1f} s.")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[Role, typer.Option(help="Vai trò")] = Role.press_officer,
    email: Annotated[str | None, typer.Option()] = None,
    full_name: Annotated[str, typer.Option()] = "",
    password: Annotated[
        str | None,
        typer.Option(help="Mật khẩu (bỏ trống để nhập ẩn)", envvar="DIEMTIN_NEW_PASSWORD"),
    ] = None,
) -> None:
    """Add a user with a role."""
    run_migrations()
    if password is None:
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            raise typer.BadParameter("Hai lần nhập mật khẩu không khớp.")
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with session_scope() as session:
        if session.scalar(select(User).where(User.username == username)):
            raise typer.BadParameter(f"Người dùng {username!r} đã tồn tại.")
        session.add(
            User(
                username=username,
                role=role.value,
                email=email,
                full_name=full_name,
                password_hash=hashed,
            )
        )
    typer.echo(f"Đã thêm người dùng {username} ({role.value}).")


@source_app.command("add")
def source_add(
    name: str,
    url: str,
    kind: Annotated[str, typer.Option(help="rss | site | facebook | youtube | forum")] = "rss",
    interval: Annotated[int | None, typer.Option(help="Chu kỳ quét (giây)", min=30)] = None,
    scope: Annotated[str, typer.Option(help="local | national | social")] = "national",
) -> None:
    """Add a source to crawl."""
    from crawlers.sources import add_source

    run_migrations()
    with session_scope() as session:
        try:
            src = add_source(
                session,
                name=name,
                url=url,
                kind=kind,
                poll_interval_s=interval,
                scope=scope,
                settings=get_settings(),
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        typer.echo(f"Đã thêm nguồn #{src.id} {src.name}.")


@source_app.command("list")
def source_list() -> None:
    """List sources with their health."""
    run_migrations()
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
        for s in rows:
            state = s.health if s.enabled else "disabled"
            last = s.last_success_at.isoformat(timespec="minutes") if s.last_success_at else "-"
            typer.echo(
                f"#{s.id:<4} {state:<8} {s.kind:<8} {s.name} <{s.url}> "
                f"lần tốt gần nhất: {last}; {s.items_total} tin, "
                f"{per_day.get(s.id, 0)} tin/24 giờ; "
                f"lỗi liên tiếp: {s.consecutive_failures}"
                + (f"; lỗi: {s.last_error[:120]}" if s.last_error and s.health != "ok" else "")
            )


@app.command()
def classify(
    texts: Annotated[
        list[str], typer.Argument(help="Văn bản cần phân loại; '-' đọc từng dòng từ stdin")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="In kết quả dạng JSON, mỗi dòng một văn bản")
    ] = False,
) -> None:
    """Classify texts with the trained model (the keyword baseline when none is installed)."""
    import dataclasses
    import json
    import sys

    from classifier.service import get_classifier

    if texts == ["-"]:
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    classifier = get_classifier(get_settings())
    for text, pred in zip(texts, classifier.predict(list(texts)), strict=True):
        if as_json:
            typer.echo(json.dumps({"text": text, **dataclasses.asdict(pred)}, ensure_ascii=False))
            continue
        typer.echo(text if len(text) <= 100 else text[:99] + "…")
        typer.echo(
            f"  liên quan giáo dục {pred.relevance:.2f} · chủ đề {', '.join(pred.topics)} · "
            f"sắc thái {pred.sentiment} ({pred.sentiment_score:+.2f}) · mức độ {pred.risk} "
            f"({pred.risk_score:.2f}) · độc hại {pred.toxicity:.2f} · "
            f"tin sai {pred.misinformation:.2f} · {pred.model_version}"
        )


@app.command()
def run(
    demo: Annotated[bool, typer.Option(help="Kèm trang báo mẫu trên 127.0.0.1")] = False,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the web app, a worker and the scheduler in one command."""
    from api.supervisor import supervise

    raise typer.Exit(code=supervise(demo=demo, host=host, port=port))


if __name__ == "__main__":
    app()
