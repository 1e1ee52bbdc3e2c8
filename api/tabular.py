"""Cells for spreadsheets and CSV: text that Excel will show, never run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

# Excel, LibreOffice and Google Sheets treat a cell starting with these as a formula
# (OWASP "CSV injection"); tab and carriage return hide the same trick.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, with a leading apostrophe when text would be read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel opens Vietnamese correctly), every cell made safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell("" if v is None else v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
