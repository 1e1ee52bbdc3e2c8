"""Press officers' label corrections (table label_corrections) as validated training rows.

The same validation serves the API (its messages are shown to users, hence Vietnamese), the
CSV export (`diemtin corrections export`) and training (`--corrections`, `--corrections-from-db`).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import inspect, select

from core.db import session_scope
from core.models import LabelCorrection
from core.taxonomy import RISKS, SENTIMENTS, TOPICS

BINARY_HEADS = ("relevance", "toxicity", "misinformation")
HEADS = ("relevance", "topics", "sentiment", "risk", "toxicity", "misinformation")
CLASS_LABELS = {"sentiment": SENTIMENTS, "risk": RISKS}
MAX_TOPICS = 3
CSV_FIELDS = (
    "id", "document_id", "alert_id", "head", "value", "text", "model_version", "predicted",
    "user_id", "created_at",
)  # fmt: skip


# Spreadsheets run cells starting with these as formulas; scraped text must not (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    # Quoted text that looks like a formula is quoted again, so reading back is exact.
    return text.lstrip("'").startswith(FORMULA_START)


def _cell(text: str) -> str:
    """Text safe to open in a spreadsheet: a leading formula character gets a quote."""
    return "'" + text if _needs_quote(text) else text


def _uncell(text: str) -> str:
    """The text _cell was given (the quote it added removed)."""
    return text[1:] if text.startswith("'") and _needs_quote(text[1:]) else text


class CorrectionError(ValueError):
    """A correction whose head or value is not one the model knows (message in Vietnamese)."""


@dataclass(frozen=True)
class Correction:
    """One expert label: the model input at correction time and the right value for a head."""

    head: str
    value: Any
    text: str
    document_id: str | None = None


def validate(head: Any, value: Any) -> Any:
    """The value in canonical form (int 0/1, a label code, a list of topic codes), or
    CorrectionError saying what is wrong."""
    if head not in HEADS:
        raise CorrectionError(f"Nhãn {head!r} không tồn tại; chọn một trong: {', '.join(HEADS)}.")
    if head in BINARY_HEADS:
        # bool is an int in Python; both spellings of yes/no are accepted.
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return int(value)
        raise CorrectionError(f"Giá trị của nhãn {head} phải là 0 hoặc 1, không phải {value!r}.")
    if head in CLASS_LABELS:
        labels = CLASS_LABELS[head]
        if isinstance(value, str) and value in labels:
            return value
        raise CorrectionError(
            f"Giá trị của nhãn {head} phải là một trong: {', '.join(labels)} (nhận {value!r})."
        )
    if not isinstance(value, list) or not value:
        raise CorrectionError("Giá trị của nhãn topics phải là danh sách 1–3 mã chủ đề.")
    unknown = [v for v in value if not isinstance(v, str) or v not in TOPICS]
    if unknown:
        raise CorrectionError(
            f"Mã chủ đề không hợp lệ: {', '.join(map(repr, unknown))}; "
            f"các mã hợp lệ: {', '.join(TOPICS)}."
        )
    codes = list(dict.fromkeys(value))
    if len(codes) > MAX_TOPICS:
        raise CorrectionError(f"Mỗi bài có tối đa {MAX_TOPICS} chủ đề (nhận {len(codes)}).")
    return codes


def write_csv(rows: Iterable[dict[str, Any]], fh: IO[str]) -> int:
    """Write correction rows (CSV_FIELDS; JSON columns as JSON text); returns the count."""
    writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        out = {k: row.get(k) for k in CSV_FIELDS}
        out["value"] = json.dumps(row.get("value"), ensure_ascii=False)
        out["predicted"] = json.dumps(row.get("predicted"), ensure_ascii=False)
        out["text"] = _cell(str(row.get("text") or ""))
        created = row.get("created_at")
        out["created_at"] = created.isoformat() if created is not None else ""
        writer.writerow({k: "" if v is None else v for k, v in out.items()})
        n += 1
    return n


def read_csv(path: Path) -> list[Correction]:
    """Corrections from an exported CSV; a bad row raises CorrectionError naming its line."""
    out: list[Correction] = []
    with Path(path).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"head", "value", "text"} - set(reader.fieldnames or ())
        if missing:
            raise CorrectionError(f"{path}: thiếu cột {', '.join(sorted(missing))}.")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                value = validate(row["head"], json.loads(row["value"]))
            except json.JSONDecodeError as exc:
                raise CorrectionError(f"{where}: giá trị không phải JSON: {exc}") from exc
            except CorrectionError as exc:
                raise CorrectionError(f"{where}: {exc}") from exc
            text = _uncell(row["text"])
            if text.strip():
                out.append(Correction(row["head"], value, text, row.get("document_id") or None))
    return out


def read_db(url: str | None = None) -> list[Correction]:
    """Every stored correction with a text (rows the API validated; re-checked anyway)."""
    out: list[Correction] = []
    with session_scope(url) as session:
        if not inspect(session.connection()).has_table(LabelCorrection.__tablename__):
            raise CorrectionError(
                "the database has no label_corrections table: run `diemtin migrate` first"
            )
        for c in session.scalars(select(LabelCorrection).order_by(LabelCorrection.id)):
            if c.text.strip():
                out.append(Correction(c.head, validate(c.head, c.value), c.text, c.document_id))
    return out


def counts(corrections: Sequence[Correction]) -> dict[str, int]:
    """How many corrections each head has (every head listed, zeros included)."""
    found = Counter(c.head for c in corrections)
    return {head: found.get(head, 0) for head in HEADS}


def digest(corrections: Sequence[Correction], weight: float) -> str:
    """A digest of the corrections' content and weight ('' for none): a checkpoint key."""
    if not corrections:
        return ""
    rows = sorted((c.head, json.dumps(c.value), c.text) for c in corrections)
    payload = json.dumps([weight, rows], ensure_ascii=False)
    return hashlib.sha1(payload.encode()).hexdigest()
