"""The XLSX unit import refuses files that unpack or spread too far before parsing them, and
parses in a child process with a deadline. The workbooks are written here, part by part."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.units.xlsx import MAX_UNCOMPRESSED, read_xlsx
from core.models import Unit
from tests.factories import login_as

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        'worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        f'2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0"?><workbook {NS} xmlns:r="{REL}"><sheets><sheet name="Đơn vị" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        f'2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _cell(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def workbook(rows: Iterable[str], dimension: str | None = None) -> bytes:
    """An XLSX whose first sheet holds `rows` (each a `<row>` element), streamed into the zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in PARTS.items():
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<?xml version="1.0"?><worksheet {NS}>'.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for row in rows:
                sheet.write(row.encode())
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


HEADER = "<row>" + _cell("name") + _cell("type") + "</row>"


def _import(client: TestClient, data: bytes):  # type: ignore[no-untyped-def]
    files = {"file": ("don-vi.xlsx", data, "application/octet-stream")}
    return client.post("/api/v1/admin/units/import", files=files)


def test_a_small_workbook_still_imports(app_client: TestClient, session: Session) -> None:
    login_as(app_client, "admin")
    rows = [HEADER, "<row>" + _cell("Trường THCS Lê Lợi") + _cell("truong") + "</row>"]
    r = _import(app_client, workbook(rows, "A1:B2"))
    assert r.status_code == 200 and r.json()["created"] == 1, r.text


def test_one_huge_string_is_refused_before_it_is_unpacked(
    app_client: TestClient, session: Session
) -> None:
    # given a workbook of a few kilobytes whose one cell unpacks to 40 MB
    big = "<row>" + _cell("a" * (40 * 1024 * 1024)) + _cell("truong") + "</row>"
    data = workbook([HEADER, big], "A1:B2")
    assert len(data) < 200_000
    login_as(app_client, "admin")
    # when it is uploaded, then it is refused at once, by its declared size
    started = time.monotonic()
    r = _import(app_client, data)
    assert r.status_code == 400 and "giải nén" in r.json()["detail"], r.text
    assert time.monotonic() - started < 5
    assert session.scalar(select(func.count()).select_from(Unit)) == 0


def test_thousands_of_columns_are_refused(app_client: TestClient) -> None:
    # given 2,000 rows of 5,000 cells (the file that cost 242 s of CPU)
    row = "<row>" + "<c><v>1</v></c>" * 5000 + "</row>"
    login_as(app_client, "admin")
    # then without a dimension it unpacks past the limit, with one it has too many columns
    r = _import(app_client, workbook([HEADER, *[row] * 2000]))
    assert r.status_code == 400 and "giải nén" in r.json()["detail"]
    r = _import(app_client, workbook([HEADER, *[row] * 20], "A1:GJH21"))
    assert r.status_code == 400 and "quá nhiều cột" in r.json()["detail"]


def test_the_parse_runs_in_a_child_process_that_a_deadline_stops() -> None:
    # given a workbook within the limits but slow to parse (wide rows, no dimension)
    row = "<row>" + "<c><v>1</v></c>" * 100 + "</row>"
    data = workbook([HEADER, *[row] * 2000])
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()) < (
        MAX_UNCOMPRESSED
    )
    # when the deadline is shorter than the parse, the child is stopped and we are told
    with pytest.raises(ValueError, match="quá 0.5 giây"):
        read_xlsx(data, max_rows=20_000, timeout_s=0.5)
    # and with time to finish, only the first columns are kept
    rows = read_xlsx(data, max_rows=20_000)
    assert len(rows) == 2001 and max(len(r) for r in rows) <= 26
