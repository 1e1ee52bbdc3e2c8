"""`diemtin corrections ...`: the press office's label corrections as training data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select

from classifier.corrections import write_csv
from core.db import migrate as run_migrations
from core.db import session_scope
from core.models import LabelCorrection
from core.settings import get_settings

corrections_app = typer.Typer(help="Nhãn do cán bộ sửa (dữ liệu huấn luyện).", no_args_is_help=True)


def _rows() -> list[dict[str, Any]]:
    zone = ZoneInfo(get_settings().timezone)
    with session_scope() as session:
        return [
            {
                "id": c.id,
                "document_id": c.document_id,
                "alert_id": c.alert_id,
                "head": c.head,
                "value": c.value,
                "text": c.text,
                "model_version": c.model_version,
                "predicted": c.predicted,
                "user_id": c.user_id,
                # ISO 8601 with the office's offset (write_csv writes isoformat()).
                "created_at": c.created_at.astimezone(zone),
            }
            for c in session.scalars(select(LabelCorrection).order_by(LabelCorrection.id))
        ]


@corrections_app.command(
    "export", help="Xuất mọi nhãn đã sửa ra CSV (dữ liệu cho huấn luyện mô hình)."
)
def export(
    out: Annotated[
        Path | None, typer.Option("--out", help="Tệp CSV cần ghi; bỏ trống thì in ra stdout")
    ] = None,
) -> None:
    """Every correction as CSV (for `python -m classifier.training.train --corrections`)."""
    run_migrations()
    rows = _rows()
    if out is None:
        write_csv(rows, sys.stdout)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: a failed export never leaves half a file.
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        n = write_csv(rows, fh)
    tmp.replace(out)
    typer.echo(f"Đã ghi {n} nhãn sửa vào {out}", err=True)
