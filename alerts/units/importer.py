"""Import the unit registry from CSV or XLSX (columns name, type, district, aliases, and
optionally commune, province).

Each row is checked on its own: bad rows are reported with their row number and reason,
good rows are written. Units are matched by folded name + district, so importing the same
file twice changes nothing, and a corrected file updates the units in place. Each unit is
placed on the 2025 map (alerts.units.placement); one that cannot be placed is still
imported, and the report lists it with the reason."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.units.placement import place_unit
from alerts.units.types import UNIT_TYPE_LIST
from alerts.units.xlsx import read_xlsx
from core.audit import Actor, audit
from core.models import Unit
from core.text import clean, fold

MAX_ROWS = 20_000
# Accepted spellings of each column (folded), so a file typed in Vietnamese works too.
COLUMNS = {
    "name": {"name", "ten", "ten don vi"},
    "type": {"type", "loai", "loai don vi"},
    "district": {"district", "huyen", "quan huyen", "quan/huyen", "dia ban"},
    "aliases": {"aliases", "ten khac", "ten goi khac", "bi danh"},
    "commune": {"commune", "xa", "phuong", "xa phuong", "xa/phuong", "phuong/xa", "phuong xa"},
    "province": {"province", "tinh", "tinh thanh", "tinh/thanh pho", "tinh thanh pho"},
}
# Unit types: code -> folded spellings people write in the file (alerts.units.types).
TYPES = {t.code: {t.code, *t.spellings} for t in UNIT_TYPE_LIST}


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts and the rows it refused (1-based, header is row 1)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    # Imported, but not placed on the 2025 map: (row, why).
    unplaced: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the API."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [{"row": r, "message": m} for r, m in self.errors],
            "unplaced": [{"row": r, "message": m} for r, m in self.unplaced],
        }


def _unit_type(value: str) -> str | None:
    folded = fold(value).replace("-", " ").strip()
    for code, spellings in TYPES.items():
        if folded in spellings or folded == code:
            return code
    return None


def read_rows(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as text cells; ValueError for a file that is not CSV/XLSX."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        # Bounded up front and parsed in a child process (a zip of XML can unpack to GBs).
        return read_xlsx(data, max_rows=MAX_ROWS)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("Tệp CSV phải được lưu với mã hóa UTF-8.") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    try:
        # newline="" as the csv module asks: a lone "\r" (old Mac files) ends a row.
        return list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise ValueError(f"Tệp CSV bị hỏng: {exc}") from None


def _header(row: list[str]) -> dict[str, int]:
    where: dict[str, int] = {}
    for i, cell in enumerate(row):
        key = fold(cell).strip()
        for col, spellings in COLUMNS.items():
            if key in spellings:
                where.setdefault(col, i)
    if "name" not in where or "type" not in where:
        raise ValueError(
            "Dòng đầu của tệp phải có tên cột: name, type, district, aliases, commune, "
            "province (hoặc: tên, loại, huyện, tên khác, xã/phường, tỉnh)."
        )
    return where


def _key(name: str, district: str | None) -> tuple[str, str]:
    return fold(name).strip(), fold(district or "").strip()


def import_units(
    session: Session,
    *,
    filename: str,
    data: bytes,
    actor: Actor | None = None,
    home_province: str | None = None,
) -> ImportReport:
    """Create or update units from the file; commits the good rows, reports the bad ones.

    `home_province` (a 2025 province code): where rows without a province column are."""
    rows = read_rows(filename, data)
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValueError("Tệp không có dữ liệu.")
    cols = _header(rows[0])
    if len(rows) - 1 > MAX_ROWS:
        raise ValueError(f"Tệp có quá nhiều dòng (tối đa {MAX_ROWS}).")
    existing = {_key(u.name, u.district): u for u in session.scalars(select(Unit))}
    seen: dict[tuple[str, str], int] = {}
    report = ImportReport()

    def cell(row: list[str], col: str) -> str:
        i = cols.get(col)
        return clean(row[i]) if i is not None and i < len(row) else ""

    for number, row in enumerate(rows[1:], start=2):
        name, district = cell(row, "name"), cell(row, "district") or None
        if not name:
            report.errors.append((number, "Thiếu tên đơn vị."))
            continue
        if len(name) > 300 or len(district or "") > 200:
            report.errors.append((number, "Tên đơn vị hoặc địa bàn quá dài."))
            continue
        unit_type = _unit_type(cell(row, "type"))
        if unit_type is None:
            report.errors.append(
                (
                    number,
                    f"Loại đơn vị «{cell(row, 'type')}» không hợp lệ (dùng: {', '.join(TYPES)}).",
                )
            )
            continue
        key = _key(name, district)
        if key in seen:
            report.errors.append((number, f"Trùng đơn vị với dòng {seen[key]}."))
            continue
        seen[key] = number
        aliases = [clean(a) for a in cell(row, "aliases").split(";") if clean(a)]
        aliases = list(dict.fromkeys(aliases))
        place = place_unit(
            province=cell(row, "province") or None,
            district=district,
            commune=cell(row, "commune") or None,
            home=home_province,
        )
        if place.problem:
            report.unplaced.append((number, f"{name}: {place.problem}"))
        values = {
            "type": unit_type,
            "aliases": aliases,
            "name": name,
            "district": district,
            "province": place.province,
            "commune": place.commune,
        }
        unit = existing.get(key)
        if unit is None:
            session.add(Unit(**values))
            report.created += 1
        elif all(getattr(unit, k) == v for k, v in values.items()):
            report.unchanged += 1
        else:
            for k, v in values.items():
                setattr(unit, k, v)
            report.updated += 1
    counts = {
        "created": report.created,
        "updated": report.updated,
        "errors": len(report.errors),
        "unplaced": len(report.unplaced),
    }
    audit(session, actor, "unit.import", "unit", None, {"file": filename[:200], **counts})
    session.commit()
    return report
