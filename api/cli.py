"""The `diemtin` command line: run, migrate, crawl, reindex, users and sources."""

from __future__ import annotations

import dataclasses
import getpass
import json
import logging
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from alerts.notify.digest import preview as render_preview
from alerts.notify.digest import send_due_digests
from alerts.notify.outbox import requeue_failed
from alerts.units.importer import import_units
from api.cli_corrections import corrections_app
from api.cli_errors import ensure_schema, run_with_retries
from api.cli_help import LocalTimeFormatter, VietnameseGroup
from api.cli_province import province_app
from api.cli_sources import source_app
from core.audit import audit
from core.db import migrate as run_migrations
from core.db import new_session, session_scope
from core.geo.choice import province_code
from core.models import Notification, Role, Source, Unit, User
from core.search import get_backend
from core.search.base import backend_names
from core.search.indexer import reindex as rebuild
from core.security import hash_password
from core.settings import get_settings


class DiemtinTyper(typer.Typer):
    """The top-level command: a busy database is retried, then reported in one sentence."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        try:
            settings = get_settings()
            wait_s, data_dir = settings.db.cli_busy_wait_s, settings.data_dir
        except Exception:  # reported by the command itself (Settings creates the data dir)
            wait_s, data_dir = 0.0, os.environ.get("DIEMTIN_DATA_DIR", "var")
        parent = super().__call__
        return run_with_retries(lambda: parent(*args, **kwargs), wait_s=wait_s, data_dir=data_dir)


# No shell-completion options: their help is Typer's English, and nobody asked for them.
app = DiemtinTyper(
    help="diemtin: theo dõi báo chí về giáo dục.",
    no_args_is_help=True,
    cls=VietnameseGroup,
    add_completion=False,
)
user_app = typer.Typer(help="Người dùng.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(source_app, name="source")
notify_app = typer.Typer(help="Thông báo đã gửi và gửi lỗi.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")
units_app = typer.Typer(help="Đơn vị (Phòng GDĐT, trường).", no_args_is_help=True)
app.add_typer(units_app, name="units")
app.add_typer(corrections_app, name="corrections")
app.add_typer(province_app, name="province")


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Ghi nhật ký chi tiết")] = False,
) -> None:
    handler = logging.StreamHandler()
    # Log times in the office's time zone, as the web pages show them.
    handler.setFormatter(
        LocalTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", _timezone())
    )
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])


def _timezone() -> str:
    try:
        return get_settings().timezone
    except Exception:  # bad settings are reported by the command itself
        return "Asia/Ho_Chi_Minh"


@app.command(help="Tạo hoặc nâng cấp cơ sở dữ liệu (chạy lại nhiều lần vẫn an toàn).")
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    run_migrations()
    typer.echo(f"Cơ sở dữ liệu đã ở phiên bản mới nhất: {get_settings().db_url}")


@app.command(help="Quét ngay một, vài hoặc mọi nguồn tin rồi lập chỉ mục tin mới.")
def crawl(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Mã số hoặc tên nguồn tin (một hay nhiều)")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Quét mọi nguồn đang bật")] = False,
) -> None:
    """Crawl one, several or all sources now in one process, then index what arrived."""
    # Imported here: crawling loads extraction and HTTP libraries, +2.5 s on every other
    # command (python -X importtime), `diemtin --help` included.
    from crawlers.crawl_now import crawl_now, find_sources, summary_vi

    if not sources and not every:
        raise typer.BadParameter("Nêu tên hoặc mã số nguồn tin, hoặc dùng --all.")
    ensure_schema()

    def report_run(src: Source, run) -> None:  # type: ignore[no-untyped-def]
        typer.echo(
            f"{src.name}: {run.status}; thấy {run.items_seen}, mới {run.items_new}, "
            f"cập nhật {run.items_updated}" + (f"; lỗi: {run.error}" if run.error else "")
        )

    with session_scope() as session:
        try:
            found = find_sources(session, sources or [], every=every)
        except LookupError as exc:
            raise typer.BadParameter(
                f"Không có nguồn tin {str(exc)!r} (xem `diemtin source list`)."
            ) from None
        if not found:
            typer.echo("Không có nguồn tin nào đang bật.")
            return
        settings = get_settings()
        report = crawl_now(
            session, found, settings=settings, backend=get_backend(settings), on_run=report_run
        )
        typer.echo(summary_vi(report))
        if report.failed:
            raise typer.Exit(code=1)


@app.command(help="Lập lại chỉ mục tìm kiếm từ cơ sở dữ liệu (tiếp tục được với --resume).")
def reindex(
    resume: Annotated[bool, typer.Option(help="Tiếp tục lần lập chỉ mục bị gián đoạn")] = False,
    batch: Annotated[int, typer.Option(help="Số tài liệu mỗi đợt", min=1, max=10_000)] = 1000,
    backend: Annotated[
        str | None,
        typer.Option(
            help="sqlite | elasticsearch (mặc định: theo cấu hình DIEMTIN_SEARCH_BACKEND)"
        ),
    ] = None,
) -> None:
    """Rebuild the search index from the database (resumable with --resume)."""
    settings = get_settings()
    if backend is not None:
        if backend not in backend_names():
            raise typer.BadParameter(f"Không có kiểu chỉ mục {backend!r}.")
        # Filling a new backend from the database is how a deployment moves to it.
        settings = settings.copy_with(search={"backend": backend})
    ensure_schema()
    started = time.monotonic()

    def progress(done: int, remaining: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-6)
        typer.echo(f"  {done} đã xong, còn {remaining} ({rate:.0f} tài liệu/giây)")

    with session_scope() as session:
        total = rebuild(
            session, get_backend(settings), resume=resume, batch=batch, progress=progress
        )
    typer.echo(f"Lập chỉ mục xong: {total} tài liệu trong {time.monotonic() - started:.1f} s.")


@user_app.command("add", help="Thêm người dùng với một vai trò (đầu mối đơn vị kèm đơn vị).")
def user_add(
    username: Annotated[str, typer.Argument(help="Tên đăng nhập")],
    role: Annotated[Role, typer.Option(help="Vai trò")] = Role.press_officer,
    email: Annotated[str | None, typer.Option(help="Thư điện tử")] = None,
    full_name: Annotated[str, typer.Option(help="Họ và tên")] = "",
    password: Annotated[
        str | None,
        typer.Option(help="Mật khẩu (bỏ trống để nhập ẩn)", envvar="DIEMTIN_NEW_PASSWORD"),
    ] = None,
    unit: Annotated[
        int | None, typer.Option(help="Mã số đơn vị (bắt buộc với unit_focal)", min=1)
    ] = None,
) -> None:
    """Add a user with a role (a unit focal point with its unit)."""
    if role == Role.unit_focal and unit is None:
        # Without a unit a focal point would see nothing (never the whole province).
        raise typer.BadParameter("Đầu mối đơn vị phải gắn với một đơn vị: thêm --unit <mã số>.")
    ensure_schema()
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
        if unit is not None and session.get(Unit, unit) is None:
            raise typer.BadParameter(f"Không có đơn vị mã số {unit} (xem /quan-tri/don-vi).")
        user = User(
            username=username,
            role=role.value,
            email=email,
            full_name=full_name,
            password_hash=hashed,
            unit_id=unit,
        )
        session.add(user)
        session.flush()
        audit(session, None, "user.create", "user", user.id, {"role": role.value, "by": "cli"})
    typer.echo(f"Đã thêm người dùng {username} ({role.value}).")


@units_app.command(
    "import", help="Nhập đơn vị từ CSV/XLSX; báo các dòng lỗi, nhập lại không đổi gì."
)
def units_import(
    file: Annotated[str, typer.Argument(help="Tệp CSV/XLSX: name, type, district, aliases")],
) -> None:
    """Import units from CSV/XLSX; bad rows are listed, re-importing changes nothing."""
    ensure_schema()
    path = Path(file)
    if not path.is_file():
        raise typer.BadParameter(f"Không tìm thấy tệp {file}.")
    with session_scope() as session:
        try:
            report = import_units(
                session,
                filename=path.name,
                data=path.read_bytes(),
                home_province=province_code(session, get_settings().province),
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    for row, message in report.errors:
        typer.echo(f"  dòng {row}: {message}", err=True)
    for row, message in report.unplaced:
        typer.echo(f"  dòng {row} (chưa xác định xã/phường): {message}", err=True)
    typer.echo(
        f"Thêm mới {report.created}, cập nhật {report.updated}, không đổi {report.unchanged}, "
        f"lỗi {len(report.errors)} dòng."
    )
    if report.unplaced:
        typer.echo(f"Chưa xác định được xã/phường của {len(report.unplaced)} đơn vị (xem trên).")
    if report.errors:
        raise typer.Exit(code=1)


@app.command(help="Phân loại văn bản bằng mô hình đã huấn luyện (bộ từ khóa khi chưa có mô hình).")
def classify(
    texts: Annotated[
        list[str], typer.Argument(help="Văn bản cần phân loại; '-' đọc từng dòng từ stdin")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="In kết quả dạng JSON, mỗi dòng một văn bản")
    ] = False,
) -> None:
    """Classify texts with the trained model (the keyword baseline when none is installed)."""
    # Imported here: the model stack (torch) adds seconds (+7 s on the shared dev box, python
    # -X importtime) to every other command.
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


@app.command(help="Xem trước bản tin ngày dạng HTML, hoặc xếp hàng các bản tin đến hạn.")
def digest(
    preview: Annotated[bool, typer.Option("--preview", help="Chỉ xem trước, không gửi")] = False,
    day: Annotated[
        str | None, typer.Option("--date", help="Ngày YYYY-MM-DD (mặc định hôm nay)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Ghi HTML ra tệp")] = None,
) -> None:
    """Preview the daily digest as HTML, or queue the digests that are due now."""
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(f"Ngày phải có dạng YYYY-MM-DD, không phải {day!r}.") from None
    ensure_schema()
    with session_scope() as session:
        if not preview:
            keys = send_due_digests(session, get_settings())
            typer.echo(f"Đã xếp hàng gửi {len(keys)} bản điểm tin.")
            return
        html = render_preview(session, get_settings(), when)
    if out is None:
        typer.echo(html)
    else:
        out.write_text(html, encoding="utf-8")
        typer.echo(f"Đã ghi bản xem trước vào {out}.")


@notify_app.command("failed", help="Liệt kê thông báo vẫn lỗi sau lần gửi lại cuối.")
def notify_failed() -> None:
    """List notifications that failed after their last retry."""
    ensure_schema()
    with new_session(read_only=True) as session:
        rows = session.scalars(
            select(Notification).where(Notification.status == "failed").order_by(Notification.id)
        ).all()
        if not rows:
            typer.echo("Không có thông báo nào gửi lỗi.")
        for n in rows:
            typer.echo(
                f"#{n.id:<5} {n.channel:<8} {n.target} · {n.subject[:60]} · "
                f"{n.attempts} lần · lỗi: {(n.last_error or '')[:120]}"
            )


@notify_app.command("requeue", help="Đưa thông báo lỗi trở lại hàng đợi, tính lại số lần thử.")
def notify_requeue(
    ids: Annotated[list[int] | None, typer.Argument(help="Mã số (bỏ trống: tất cả)")] = None,
) -> None:
    """Put failed notifications back in the queue with a fresh retry budget."""
    ensure_schema()
    with session_scope() as session:
        n = requeue_failed(session, ids=ids or None)
    typer.echo(f"Đã đưa {n} thông báo trở lại hàng đợi.")


@app.command(help="Chạy trang web, tiến trình nền và bộ lập lịch bằng một lệnh.")
def run(
    demo: Annotated[bool, typer.Option(help="Kèm trang báo mẫu trên 127.0.0.1")] = False,
    host: Annotated[str | None, typer.Option(help="Địa chỉ lắng nghe của trang web")] = None,
    port: Annotated[int | None, typer.Option(help="Cổng của trang web")] = None,
) -> None:
    """Start the web app, a worker and the scheduler in one command."""
    # Imported here: the supervisor brings the web app and the whole crawl stack (+2 s, python
    # -X importtime) that other commands do not need.
    from api.supervisor import supervise

    raise typer.Exit(code=supervise(demo=demo, host=host, port=port))


if __name__ == "__main__":
    app()
