"""`diemtin province ...`: choose the Department's province and show what was loaded."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from api.cli_errors import ensure_schema
from core.audit import audit
from core.db import session_scope
from core.geo.choice import current_profile, province_code, set_province, stored_province
from core.geo.profile import ProvinceProfile, find_province
from core.models import Source
from core.settings import get_settings
from crawlers.catalogue.register import register_province_sources, registered_sources
from crawlers.locality import relocate_all

province_app = typer.Typer(
    help="Tỉnh/thành phố của Sở và địa bàn của tin, bài.", no_args_is_help=True
)


@province_app.command("set")
def province_set(
    name: Annotated[str, typer.Argument(help='Tên tỉnh/thành phố, ví dụ "Quảng Ngãi"')],
    look: Annotated[
        bool,
        typer.Option(
            "--look/--no-look",
            help="Dò trang chủ các báo chưa có RSS/sitemap trong danh mục (cần mạng)",
        ),
    ] = True,
) -> None:
    """Chọn tỉnh/thành phố của Sở (tên mới hoặc tên cũ trước 1/7/2025) và thêm báo chí của
    tỉnh cùng báo chí giáo dục trung ương từ danh mục."""
    ensure_schema()
    found = find_province(name)
    if found is None:
        typer.echo(f"Không tìm thấy tỉnh/thành phố “{name}” trên bản đồ hành chính 2025.", err=True)
        raise typer.Exit(1)
    with session_scope(write=True) as session:
        profile = set_province(session, name)
        audit(session, None, "province.set", "app_settings", "province",
              {"code": profile.province.code, "by": "cli"})  # fmt: skip
    with session_scope(write=True) as session:
        report = register_province_sources(
            session, profile.province.code, settings=get_settings(), look=look
        )
    if found[1] is not None:
        typer.echo(f"{found[1].name} (cũ) nay thuộc {profile.province.name}.")
    typer.echo(f"Đã chọn {profile.province.name}.")
    typer.echo(f"Nguồn tin: thêm {report.created}, đã có {len(report.sources) - report.created}.")
    for row in report.sources:
        if row.status == "created":
            typer.echo(f"  + {row.name} ({row.kind}: {row.url}) — {row.how}")
    typer.echo("Chạy `diemtin province locate` để xác định lại địa bàn các tin, bài đã có.")


@province_app.command("show")
def province_show(
    communes: Annotated[bool, typer.Option("--communes", help="Liệt kê từng xã, phường")] = False,
) -> None:
    """Tỉnh/thành phố đã chọn và những gì đã nạp: xã, phường, đơn vị hành chính cũ."""
    ensure_schema()
    default = get_settings().province
    with session_scope() as session:
        chosen = stored_province(session)
        profile = current_profile(session, default)
        if profile is None:
            typer.echo("Chưa chọn tỉnh/thành phố: chạy `diemtin province set \"<tên>\"` "
                       "hoặc đặt DIEMTIN_PROVINCE.")  # fmt: skip
            raise typer.Exit(1)
        how = "diemtin province set" if chosen else "DIEMTIN_PROVINCE"
        sources = registered_sources(session, profile.province.code)
        lines = describe(profile, how, communes) + source_lines(sources)
    for line in lines:
        typer.echo(line)


SCOPE_NAMES = {"local": "địa phương", "national": "trung ương", "social": "mạng xã hội"}


def source_lines(sources: list[Source]) -> list[str]:
    """The sources part of `province show`: the province's own press, then the national."""
    lines = [f"Nguồn tin của tỉnh và báo chí giáo dục trung ương: {len(sources)}"]
    for s in sources:
        state = "" if s.enabled else ", đang tắt"
        lines.append(f"  [{SCOPE_NAMES.get(s.scope, s.scope)}] {s.name} ({s.kind}: {s.url}{state})")
    return lines


def describe(profile: ProvinceProfile, how: str, communes: bool = False) -> list[str]:
    """The lines `province show` prints."""
    p = profile.province
    kinds = Counter(c.kind for c in profile.communes)
    lines = [
        f"Tỉnh/thành phố: {p.name} (mã {p.code}; chọn bằng {how})",
        f"Dữ liệu: vietnamadminunits {profile.data_version} (bản đồ hành chính từ 1/7/2025)",
        f"Xã, phường, đặc khu: {len(profile.communes)} ("
        + ", ".join(f"{k.lower()} {n}" for k, n in sorted(kinds.items()))
        + ")",
        "Tỉnh/thành phố cũ hợp nhất: " + ", ".join(f.name for f in profile.former_provinces),
        f"Huyện, quận, thị xã, thành phố cũ: {len(profile.former_districts)}: "
        + ", ".join(d.name for d in profile.former_districts),
        "Tỉnh/thành phố lân cận (tin ở đó là bối cảnh cần theo dõi): "
        + (", ".join(n.name for n in profile.neighbours) or "không có"),
        "Cách viết được nhận ra: " + ", ".join(profile.spellings()),
    ]
    if communes:
        lines += [f"  {c.name} (mã {c.code})" for c in profile.communes]
    return lines


@province_app.command("locate")
def province_locate() -> None:
    """Xác định lại địa bàn (tỉnh, xã, phường) của mọi tin, bài đã lưu."""
    ensure_schema()
    with session_scope(write=True) as session:
        own = province_code(session, get_settings().province)
        changed = relocate_all(session, own)
    typer.echo(f"Đã xác định lại địa bàn; {changed} tin, bài thay đổi (sẽ được lập chỉ mục lại).")
