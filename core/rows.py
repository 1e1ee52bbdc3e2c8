"""A row by id, or NotFound with the message the user sees; the id type forms accept."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

# Row ids fit PostgreSQL's integer and SQLite's INTEGER; larger numbers are refused up front.
MAX_ID = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


class NotFound(LookupError):
    """The row does not exist; the message is shown to the user (the API answers 404)."""


def get_row(session: Session, model: type[Any], row_id: int, what: str) -> Any:
    """The row, or NotFound with the Vietnamese message ("Không tìm thấy quy tắc #3.")."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"Không tìm thấy {what} #{row_id}.")
    return row
