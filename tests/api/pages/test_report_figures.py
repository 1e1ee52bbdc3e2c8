"""The report page and its DOCX/XLSX count education items by default, with the threshold
shown and a toggle to count every stored item (alerts.reporting.relevance)."""

from __future__ import annotations

import io

import openpyxl
from docx import Document as Docx

from core.models import Source, utcnow
from tests.api.pages.conftest import Seed
from tests.factories import make_document

NOISE = "Giá vàng hôm nay tăng mạnh"


def test_report_and_exports_count_education_items(client_for, seeded: Seed, session) -> None:
    # given October 2025 of the seed, plus three unrelated items that month
    src = session.get(Source, seeded.sources["a"])
    for i in range(3):
        make_document(session, src, f"{NOISE} {i}", published_at=utcnow().replace(
            year=2025, month=10, day=10 + i), relevance=0.1)  # fmt: skip
    session.commit()
    client = client_for("leadership")
    counted = client.get("/api/v1/reports", params={"period": "2025-10"}).json()
    everything = client.get(
        "/api/v1/reports", params={"period": "2025-10", "include_all": "true"}
    ).json()
    # then the unrelated items count only with the toggle
    assert everything["total"] == counted["total"] + 3
    assert counted["relevance_threshold"] == 0.5
    assert everything["relevance_threshold"] is None
    page = client.get("/bao-cao", params={"ky": "2025-10"})
    assert f"Tổng số tin, bài về giáo dục: {counted['total']}." in page.text
    assert "độ liên quan từ 0,50 trở lên" in page.text
    page_all = client.get("/bao-cao", params={"ky": "2025-10", "include_all": "true"})
    assert f"Tổng số tin, bài: {everything['total']}." in page_all.text
    # and the downloads say the same
    docx = client.get("/api/v1/reports/report.docx", params={"period": "2025-10"})
    text = "\n".join(p.text for p in Docx(io.BytesIO(docx.content)).paragraphs)
    assert f"Tổng số tin, bài về giáo dục: {counted['total']}." in text
    assert "độ liên quan từ 0,50 trở lên" in text
    # with the forecast as of the month's end, evidence included
    tables = [[c.text for c in row.cells] for t in Docx(io.BytesIO(docx.content)).tables
              for row in t.rows]  # fmt: skip
    assert ["Loại", "Nội dung", "Căn cứ"] in tables
    coming = [row for row in tables if row[0] == "Những tuần tới"]
    assert any(row[1].startswith("Ngày Nhà giáo Việt Nam 20/11") for row in coming), coming
    assert counted["forecast"]["coming"][0]["evidence"]
    xlsx = client.get("/api/v1/reports/report.xlsx", params={"period": "2025-10"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value]
    assert any("độ liên quan từ 0,50 trở lên" in c for c in cells)
