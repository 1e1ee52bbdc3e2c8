"""Reading an uploaded XLSX safely: bounded before it is opened, parsed in a child process.

An XLSX is a zip of XML: 400 KB on the wire once unpacked to a 400 MB string (+800 MB in the
web process), and 523 KB of 2,000 x 5,000 cells cost 242 s of CPU. So, before openpyxl sees
the file: the zip's declared uncompressed sizes (which bound what can be read out of it) and
the sheet's declared dimensions are checked; then the parse runs in a separate process with
a memory ceiling and a deadline, so a hostile file costs neither the web process's memory nor
its CPU (the GIL), and is stopped when it takes too long."""

from __future__ import annotations

import io
import multiprocessing
import re
import resource
import zipfile
from multiprocessing.context import SpawnContext

# A province's registry (a few thousand units, four columns) unpacks to well under 5 MB.
MAX_UNCOMPRESSED = 16 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
MAX_COLUMNS = 26
PARSE_TIMEOUT_S = 60.0
# Address space of the parsing process (Python + openpyxl need ~100 MB of it).
PARSE_MEMORY = 768 * 1024 * 1024
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - ord("A") + 1)
    return n


def check_xlsx(data: bytes, *, max_rows: int) -> None:
    """Refuse (ValueError, Vietnamese) an XLSX that would unpack or spread too far."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        entries = book.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValueError("Không đọc được tệp Excel: tệp bị hỏng.") from None
    unpacked = sum(e.file_size for e in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNCOMPRESSED:
        raise ValueError(
            f"Tệp Excel quá lớn khi giải nén ({unpacked / 1024 / 1024:.0f} MB; tối đa "
            f"{MAX_UNCOMPRESSED // 1024 // 1024} MB). Hãy chỉ giữ các cột và dòng cần nhập."
        )
    for entry in entries:
        if not _SHEET.match(entry.filename):
            continue
        with book.open(entry) as sheet:
            head = sheet.read(4096)
        found = _DIMENSION.search(head)
        if not found or found.group(3) is None:
            continue
        columns = _column_number(found.group(3))
        if columns > MAX_COLUMNS:
            raise ValueError(f"Trang tính có quá nhiều cột ({columns}; tối đa {MAX_COLUMNS}).")
        if int(found.group(4)) > max_rows + 1:
            raise ValueError(f"Tệp có quá nhiều dòng (tối đa {max_rows}).")


def parse_xlsx(data: bytes, max_rows: int) -> list[list[str]]:
    """The first sheet's rows as text cells (at most max_rows + 2 rows, MAX_COLUMNS columns)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ValueError(f"Không đọc được tệp Excel: {exc}") from None
    try:
        sheet = book.worksheets[0]
        return [
            ["" if c is None else str(c) for c in row]
            for row in sheet.iter_rows(values_only=True, max_row=max_rows + 2, max_col=MAX_COLUMNS)
        ]
    finally:
        book.close()


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _context() -> SpawnContext:
    # spawn, not fork: the web process has threads (uvicorn, the database pools).
    return multiprocessing.get_context("spawn")


def read_xlsx(
    data: bytes, *, max_rows: int, timeout_s: float = PARSE_TIMEOUT_S, memory: int = PARSE_MEMORY
) -> list[list[str]]:
    """check_xlsx, then parse_xlsx in a child process with a memory ceiling and a deadline."""
    check_xlsx(data, max_rows=max_rows)
    with _context().Pool(1, initializer=_limit_memory, initargs=(memory,)) as pool:
        pending = pool.apply_async(parse_xlsx, (data, max_rows))
        try:
            return pending.get(timeout_s)
        except multiprocessing.TimeoutError:
            raise ValueError(
                f"Đọc tệp Excel quá {timeout_s:g} giây nên đã dừng; hãy lưu lại tệp chỉ với "
                "các cột tên, loại, huyện, tên khác."
            ) from None
        except MemoryError:
            raise ValueError("Tệp Excel cần quá nhiều bộ nhớ để đọc.") from None
