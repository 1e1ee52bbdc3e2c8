"""Unit import from CSV and XLSX: per-row errors, good rows kept, re-import idempotent."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
from sqlalchemy import select

from alerts.units.importer import read_rows
from core.models import Unit
from tests.api.pages.conftest import post_form

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "units" / "units.csv"
ROOT = Path(__file__).resolve().parents[3]


def _units(session) -> dict[str, tuple[str, str | None, list[str]]]:
    # Read, then end the transaction: SQLite would otherwise keep the app from writing.
    try:
        return {u.name: (u.type, u.district, u.aliases) for u in session.scalars(select(Unit))}
    finally:
        session.rollback()


def test_csv_import_reports_bad_rows_and_is_idempotent(client_for, session) -> None:
    client = client_for("admin")
    files = {"file": ("don-vi.csv", FIXTURE.read_bytes(), "text/csv")}
    # when the file is imported
    first = client.post("/api/v1/admin/units/import", files=files).json()
    # then good rows are created and each bad row says why
    assert (first["created"], first["updated"], first["unchanged"]) == (4, 0, 0)
    errors = {e["row"]: e["message"] for e in first["errors"]}
    assert set(errors) == {4, 6, 7}
    assert errors[4] == "Thiếu tên đơn vị."
    assert "nha tre" in errors[6]
    assert errors[7] == "Trùng đơn vị với dòng 3."  # same name and district without accents
    units = _units(session)
    assert units["Phòng GDĐT Hải Châu"] == (
        "phong_gddt",
        "Hải Châu",
        ["PGD Hải Châu", "Phòng Giáo dục Hải Châu"],
    )
    assert units["Trường Tiểu học Lê Lợi"][0] == "truong"
    # a formula-looking name is only text in our database; exports neutralise it
    assert "=cmd|/c calc" in units
    # when the same file is imported again, nothing changes
    second = client.post("/api/v1/admin/units/import", files=files).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 4)
    assert len(_units(session)) == 4


def test_xlsx_import_updates_in_place(client_for, session) -> None:
    client = client_for("admin")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Tên", "Loại", "Huyện", "Tên khác"])  # Vietnamese headers work too
    sheet.append(["Phòng GDĐT Sơn Trà", "Phòng GDĐT", "Sơn Trà", "PGD Sơn Trà"])
    sheet.append(["Trường THPT Phan Châu Trinh", "truong", "Hải Châu", None])
    sheet.append(["Trường X", "???", "Hải Châu", None])
    buf = io.BytesIO()
    book.save(buf)
    r = client.post(
        "/api/v1/admin/units/import", files={"file": ("don-vi.xlsx", buf.getvalue(), "x")}
    ).json()
    assert (r["created"], len(r["errors"])) == (2, 1)
    assert r["errors"][0]["row"] == 4
    # a corrected file updates the unit instead of duplicating it
    sheet.cell(row=2, column=4, value="PGD Sơn Trà; Phòng GD Sơn Trà")
    buf = io.BytesIO()
    book.save(buf)
    r = client.post("/api/v1/admin/units/import", files={"file": ("u.xlsx", buf.getvalue(), "x")})
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (0, 1, 1)
    assert _units(session)["Phòng GDĐT Sơn Trà"][2] == ["PGD Sơn Trà", "Phòng GD Sơn Trà"]


def test_import_refuses_unreadable_files_and_keeps_nothing(client_for, session) -> None:
    client = client_for("admin")
    for name, data, message in [
        ("a.csv", "tên;loại\n".encode("utf-16"), "UTF-8"),
        ("a.csv", b"foo,bar\n1,2\n", "tên cột"),
        ("a.xlsx", b"PK\x03\x04 not really a zip", "Excel"),
        ("a.csv", b"", "không có dữ liệu"),
    ]:
        r = client.post("/api/v1/admin/units/import", files={"file": (name, data, "x")})
        assert r.status_code == 400, (name, r.text)
        assert message in r.json()["detail"]
    assert _units(session) == {}


def test_import_page_shows_the_row_report(client_for, session) -> None:
    files = {"file": ("don-vi.csv", FIXTURE.read_bytes(), "text/csv")}
    page = post_form(client_for("admin"), "/quan-tri/don-vi/nhap", files=files)
    assert page.status_code == 200
    assert "Thêm mới 4, cập nhật 0, không đổi 0, lỗi 3 dòng." in page.text
    assert "Trùng đơn vị với dòng 3." in page.text


def test_cli_units_import(settings, session) -> None:
    env = {**os.environ, "DIEMTIN_DATA_DIR": str(settings.data_dir)}
    cmd = [sys.executable, "-m", "api.cli", "units", "import", str(FIXTURE)]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1  # bad rows make the exit status non-zero
    assert "Thêm mới 4, cập nhật 0, không đổi 0, lỗi 3 dòng." in first.stdout
    assert "dòng 4: Thiếu tên đơn vị." in first.stderr
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "Thêm mới 0, cập nhật 0, không đổi 4" in again.stdout


def test_csv_with_old_mac_line_ends_is_read() -> None:
    # a lone "\r" ends a row (the csv module raised on it, a 500 found by the fuzz test)
    assert read_rows("u.csv", b"name,type\rTr\xc6\xb0\xe1\xbb\x9dng A,truong\r") == [
        ["name", "type"],
        ["Trường A", "truong"],
    ]
