"""The monthly report as DOCX (python-docx, chart drawn by matplotlib) and XLSX (openpyxl,
native charts). Scraped titles are written as plain text runs/cells, never as markup or
formulas."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.reporting.coverage import OUTSIDE, Coverage
from alerts.reporting.forecast import Forecast
from alerts.reporting.reports import Report
from alerts.units.types import UNIT_TYPE_NAMES
from api.tabular import safe_cell
from core.taxonomy import SENTIMENT_NAMES, SEVERITY_NAMES, STATUS_NAMES, TOPIC_NAMES

UNIT_TYPES = UNIT_TYPE_NAMES
# XML 1.0 forbids most control characters; scraped text sometimes carries them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} giờ".replace(".", ",")


def _when(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%d/%m/%Y %H:%M") if value else "–"


def coverage_sections(cov: Coverage | None) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Coverage by commune/ward of the province, outside it ("ngoài tỉnh", apart), by unit type."""
    if cov is None:
        return []
    places = [[p.name, p.count] for p in cov.by_commune]
    if cov.province is not None:
        places.insert(0, ["Toàn tỉnh (có nêu địa bàn trong tỉnh)", cov.in_province])
    places.append(["Chưa xác định địa bàn", cov.unplaced])
    outside_title = f"{OUTSIDE} (tính riêng)" if cov.province else "Theo tỉnh, thành"
    return [
        ("Theo xã, phường trong tỉnh", ["Xã/phường", "Số tin"], places),
        (
            outside_title,
            ["Tỉnh/thành", "Số tin"],
            [[p.name, p.count] for p in cov.outside_by_province]
            + ([[f"Tổng {OUTSIDE.lower()}", cov.outside]] if cov.province else []),
        ),
        ("Theo phạm vi nguồn", ["Phạm vi", "Số tin"], [[s.name, s.count] for s in cov.by_scope]),
        (
            "Theo loại đơn vị",
            ["Loại đơn vị", "Số tin"],
            [[p.name, p.count] for p in cov.by_unit_type],
        ),
    ]


def forecast_section(fc: Forecast | None) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The "Dự báo" block as a table: what, and the evidence behind it."""
    if fc is None:
        return []
    rows: list[list[Any]] = [["Chủ đề đang lên", r.label, r.evidence] for r in fc.rising]
    rows += [
        ["Những tuần tới", f"{e.name} ({e.first:%d/%m}–{e.last:%d/%m})", e.evidence]
        for e in fc.coming
    ]
    return [("Dự báo", ["Loại", "Nội dung", "Căn cứ"], rows)]


def sections(report: Report, tz: ZoneInfo) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, header, rows) of every table, shared by both formats."""
    r = report
    return [
        ("Theo chủ đề", ["Chủ đề", "Số tin"], [[TOPIC_NAMES.get(k, k), n] for k, n in r.by_topic]),
        (
            "Theo sắc thái",
            ["Sắc thái", "Số tin"],
            [[SENTIMENT_NAMES.get(k, "Chưa phân loại"), n] for k, n in r.by_sentiment],
        ),
        ("Theo nguồn", ["Nguồn", "Số tin"], [[k, n] for k, n in r.by_source]),
        ("Theo đơn vị", ["Đơn vị", "Số tin"], [[name, n] for _, name, n in r.by_unit]),
        (
            "Vụ việc theo trạng thái",
            ["Trạng thái", "Số vụ"],
            [[STATUS_NAMES.get(k, k), n] for k, n in sorted(r.cases_by_status.items())],
        ),
        (
            "Vụ việc nổi bật và cách xử lý",
            ["Vụ việc", "Mức độ", "Trạng thái", "Phát hiện", "Phản hồi", "Nội dung phản hồi"],
            [
                [
                    c.title,
                    SEVERITY_NAMES.get(c.severity, c.severity),
                    STATUS_NAMES.get(c.status, c.status),
                    _when(c.created_at, tz),
                    _when(c.responded_at, tz),
                    c.response or "",
                ]
                for c in r.hot_cases
            ],
        ),
        (
            "Tin tích cực theo đơn vị (từ đầu năm học)",
            ["Đơn vị", "Loại", "Tin tích cực", "Chỉ tiêu năm", "Đạt"],
            [
                [
                    t.name,
                    UNIT_TYPES.get(t.type, t.type),
                    t.positive,
                    t.target,
                    "Đạt" if t.met else "Chưa đạt",
                ]
                for t in r.positive_targets
            ],
        ),
        *coverage_sections(r.coverage),
        *forecast_section(r.forecast),
    ]


def summary_lines(report: Report) -> list[str]:
    """The headline figures as sentences."""
    r = report
    what = "Tổng số tin, bài" if r.counting.everything else "Tổng số tin, bài về giáo dục"
    return [
        f"{what}: {r.total}.",
        r.counting.caption(),
        f"Số vụ việc phát sinh: {r.cases_total}; đã phản hồi: {r.responded}.",
        f"Thời gian phản hồi: trung vị {_hours(r.response_hours_median)}, "
        f"90% vụ việc trong {_hours(r.response_hours_p90)}.",
    ]


def _chart_png(report: Report) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import pyplot as plt

    topics = report.by_topic[:10]
    fig, ax = plt.subplots(figsize=(6.5, 3.2), dpi=120)
    try:
        ax.barh([TOPIC_NAMES.get(k, k) for k, _ in topics][::-1], [n for _, n in topics][::-1])
        ax.set_xlabel("Số tin")
        ax.set_title("Tin, bài theo chủ đề")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()


def to_docx(report: Report, tz: ZoneInfo, *, title: str) -> bytes:
    """The report as a Word document: headline figures, a chart and one table per breakdown."""
    from docx import Document
    from docx.shared import Inches

    doc = Document()
    doc.add_heading(_text(title), level=0)
    doc.add_paragraph(
        f"Kỳ báo cáo: {report.period.label}. Lập lúc {_when(report.generated_at, tz)}."
    )
    for line in summary_lines(report):
        doc.add_paragraph(line, style="List Bullet")
    if report.by_topic:
        doc.add_picture(io.BytesIO(_chart_png(report)), width=Inches(6))
    for heading, header, rows in sections(report, tz):
        doc.add_heading(heading, level=1)
        if not rows:
            doc.add_paragraph("Không có số liệu.")
            continue
        table = doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for cell, name in zip(table.rows[0].cells, header, strict=True):
            cell.text = name
        for row in rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                cell.text = _text(value)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def to_xlsx(report: Report, tz: ZoneInfo, *, title: str) -> bytes:
    """The report as a workbook: a summary sheet, one sheet per breakdown, native bar charts."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    ws = book.active
    ws.title = "Tổng quan"
    for line in [title, f"Kỳ báo cáo: {report.period.label}", *summary_lines(report)]:
        _append(ws, [line])
    for n, (heading, header, rows) in enumerate(sections(report, tz), start=1):
        sheet = book.create_sheet(f"{n}. {heading}"[:31])
        _append(sheet, header)
        for row in rows:
            _append(sheet, row)
        sheet.column_dimensions["A"].width = 48
        if rows and len(header) == 2:
            chart = BarChart()
            chart.type = "bar"
            chart.title = heading
            chart.legend = None
            data = Reference(sheet, min_col=2, min_row=1, max_row=len(rows) + 1)
            cats = Reference(sheet, min_col=1, min_row=2, max_row=len(rows) + 1)
            chart.add_data(data, titles_from_data=True)
            chart.set_categories(cats)
            sheet.add_chart(chart, "D2")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _append(sheet: Any, values: list[Any]) -> None:
    # Cells are written as text or numbers, never formulas: openpyxl would store "=..." as one.
    sheet.append([v if isinstance(v, int | float) else safe_cell(_text(v)) for v in values])
