"""Choosing the province registers its press and the national education press, and
`diemtin province show` lists them (the admin form: tests/api/pages/test_admin_places.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from core.models import Source
from core.settings import Settings
from crawlers.catalogue import load_catalogue

runner = CliRunner()
QUANG_NGAI = "51"


def test_province_set_registers_and_show_lists_the_sources(
    settings: Settings, session: Session
) -> None:
    # when the province is chosen by its old name, without looking at homepages
    chosen = runner.invoke(app, ["province", "set", "Kon Tum", "--no-look"], catch_exceptions=False)
    # then its press and the national education press are sources, and the output says so
    expected = load_catalogue().for_province(QUANG_NGAI)
    assert f"Nguồn tin: thêm {len(expected)}, đã có 0." in chosen.output
    assert "  + Báo và Phát thanh, Truyền hình Quảng Ngãi (site: https://baoquangngai.vn)" in (
        chosen.output
    )
    session.expire_all()
    assert set(session.scalars(select(Source.name))) == {e.name for e in expected}
    # and `show` lists them, local first
    shown = runner.invoke(app, ["province", "show"], catch_exceptions=False).output
    assert f"Nguồn tin của tỉnh và báo chí giáo dục trung ương: {len(expected)}" in shown
    local = shown.index("[địa phương] Báo và Phát thanh, Truyền hình Quảng Ngãi")
    assert local < shown.index("[trung ương] Giáo dục và Thời đại (rss: ")
    # choosing it again adds nothing
    again = runner.invoke(app, ["province", "set", "Quảng Ngãi", "--no-look"]).output
    assert f"Nguồn tin: thêm 0, đã có {len(expected)}." in again
