"""The monthly report: figures from the seeded data, checked in JSON, DOCX and XLSX."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from tests.api.pages.conftest import FORMULA_TITLE, HOSTILE_SOURCE, HOSTILE_TITLE, Seed

# October 2025 of the seed: four articles, four cases (responses after 2 h, 10 h, 4 h, none).
TOPICS = [("Gương điển hình", 2), ("Học phí, thu chi", 2), ("Mầm non", 1)]
SENTIMENTS = [("Tích cực", 2), ("Tiêu cực", 1), ("Trung tính", 1)]
SOURCES = sorted([("Báo Giáo dục Thử", 2), (HOSTILE_SOURCE, 2)])
UNITS = [("Phòng GDĐT Hải Châu", 2), ("Trường THCS Nguyễn Huệ", 1)]
STATUSES = [("Mới", 1), ("Đã phản hồi", 1), ("Đã đóng", 2)]
TARGETS = [
    ["Phòng GDĐT Hải Châu", "Phòng GDĐT (cũ)", 1, 8, "Chưa đạt"],
    ["Trường <i>Tiểu học</i> Lê Lợi", "Trường", 0, 2, "Chưa đạt"],
    ["Trường THCS Nguyễn Huệ", "Trường", 2, 2, "Đạt"],  # September counts toward the year
]


def test_report_json_figures(client_for, seeded: Seed) -> None:
    r = client_for("leadership").get("/api/v1/reports", params={"period": "2025-10"}).json()
    assert r["label"] == "Tháng 10/2025"
    assert r["total"] == 4
    assert r["by_topic"] == {"guong_dien_hinh": 2, "hoc_phi_thu_chi": 2, "mam_non": 1}
    assert r["by_sentiment"] == {"tich_cuc": 2, "tieu_cuc": 1, "trung_tinh": 1}
    assert r["cases_by_status"] == {"responded": 1, "closed": 2, "new": 1}
    assert (r["cases_total"], r["responded"]) == (4, 3)
    assert r["response_hours_median"] == pytest.approx(4.0)
    assert r["response_hours_p90"] == pytest.approx(8.8)
    assert [c["title"] for c in r["hot_cases"]] == ["Phản ánh thu sai quy định", HOSTILE_TITLE]
    assert [(t["name"], t["positive"], t["met"]) for t in r["positive_targets"]] == [
        (row[0], row[2], row[4] == "Đạt") for row in TARGETS
    ]


@pytest.mark.parametrize(
    ("period", "total", "cases"),
    [("2025-2026:HK1", 6, 5), ("2025-2026", 6, 5), ("2025-2026:HK2", 0, 0)],
)
def test_report_periods(client_for, seeded: Seed, period: str, total: int, cases: int) -> None:
    r = client_for("admin").get("/api/v1/reports", params={"period": period}).json()
    assert (r["total"], r["cases_total"]) == (total, cases)


@pytest.mark.parametrize("period", ["2025-13", "2025-2027", "hôm qua", "2025-2026:HK3"])
def test_report_refuses_bad_periods(client_for, seeded: Seed, period: str) -> None:
    r = client_for("admin").get("/api/v1/reports/report.docx", params={"period": period})
    assert r.status_code == 400
    assert "không hợp lệ" in r.json()["detail"]


def _table(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows[1:]]


def test_docx_report_matches_the_figures(client_for, seeded: Seed) -> None:
    r = client_for("press_officer").get("/api/v1/reports/report.docx", params={"period": "2025-10"})
    assert r.status_code == 200
    assert "bao-cao-2025-10.docx" in r.headers["content-disposition"]
    doc = docx.Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Kỳ báo cáo: Tháng 10/2025." in text
    assert "Tổng số tin, bài về giáo dục: 4." in text
    assert "Thời gian phản hồi: trung vị 4,0 giờ, 90% vụ việc trong 8,8 giờ." in text
    assert len(doc.inline_shapes) == 1  # the topic chart
    topic, sentiment, source, unit, status, hot, targets, *coverage = doc.tables
    assert _table(topic) == [[k, str(n)] for k, n in TOPICS]
    assert _table(sentiment) == [[k, str(n)] for k, n in SENTIMENTS]
    assert sorted(map(tuple, _table(source))) == [(k, str(n)) for k, n in SOURCES]
    assert _table(unit) == [[k, str(n)] for k, n in UNITS]
    assert sorted(map(tuple, _table(status))) == sorted((k, str(n)) for k, n in STATUSES)
    assert [row[0] for row in _table(hot)] == ["Phản ánh thu sai quy định", HOSTILE_TITLE]
    assert _table(hot)[1][5] == "Đã trả lời <b>báo chí</b>"  # shown as text
    assert _table(targets) == [[str(v) for v in row] for row in TARGETS]
    # coverage by commune, by the outlets' scope and by unit type; the seed's documents name no
    # place, so the table by province says "Không có số liệu" instead of a table
    places, scopes, unit_types, forecast = coverage  # the last: "Dự báo" (tests/reporting)
    assert [c.text for c in forecast.rows[0].cells] == ["Loại", "Nội dung", "Căn cứ"]
    assert _table(places) == [["Chưa xác định địa bàn", "4"]]
    assert _table(scopes) == [["Báo trung ương", "4"]]
    assert _table(unit_types) == [["Phòng GDĐT (cũ)", "2"], ["Trường", "1"]]


def test_xlsx_report_matches_the_figures(client_for, seeded: Seed) -> None:
    r = client_for("admin").get("/api/v1/reports/report.xlsx", params={"period": "2025-10"})
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    names = book.sheetnames
    assert names[0] == "Tổng quan" and len(names) == 13 and names[-1] == "12. Dự báo"
    summary = [row[0] for row in book["Tổng quan"].iter_rows(values_only=True)]
    assert "Tổng số tin, bài về giáo dục: 4." in summary

    def rows(i: int) -> list[tuple]:
        return list(book[names[i]].iter_rows(min_row=2, values_only=True))

    assert rows(1) == TOPICS
    assert rows(2) == SENTIMENTS
    assert sorted(rows(3)) == SOURCES
    assert rows(4) == UNITS
    assert sorted(rows(5)) == sorted(STATUSES)
    assert [row[0] for row in rows(6)] == ["Phản ánh thu sai quy định", HOSTILE_TITLE]
    assert [list(row) for row in rows(7)] == TARGETS
    # native charts on the two-column breakdowns
    assert all(len(book[names[i]]._charts) == 1 for i in range(1, 6))


def test_exports_never_carry_formulas(client_for, seeded: Seed, session) -> None:
    from core.models import Alert

    # given a case whose scraped title is a spreadsheet formula
    session.add(Alert(title=FORMULA_TITLE, severity="critical", status="new", created_at=_oct(28)))
    session.commit()
    r = client_for("admin").get("/api/v1/reports/report.xlsx", params={"period": "2025-10"})
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    hot = [row[0] for row in book.worksheets[6].iter_rows(min_row=2, values_only=True)]
    assert "'" + FORMULA_TITLE in hot


def _oct(day: int):
    from datetime import UTC, datetime

    return datetime(2025, 10, day, 3, tzinfo=UTC)
