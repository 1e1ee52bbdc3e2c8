"""Cursor pagination for JSON lists: an opaque base64 token holding the last sort key."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import HTTPException
from sqlalchemy import Select

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(key: Any) -> str:
    """The opaque cursor for a sort key (JSON, URL-safe base64)."""
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The sort key inside a cursor; a clear 400 for a token we did not issue."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "Con trỏ phân trang (cursor) không hợp lệ.") from None


def page_by_id(stmt: Select[Any], id_column: Any, cursor: str | None, limit: int) -> Select[Any]:
    """`stmt` ordered by id ascending, after the cursor's id, one row more than `limit`."""
    after = decode_cursor(cursor)
    if after is not None:
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**31:
            raise HTTPException(400, "Con trỏ phân trang (cursor) không hợp lệ.")
        stmt = stmt.where(id_column > after)
    return stmt.order_by(id_column).limit(limit + 1)


def split_page(rows: Sequence[T], limit: int, key: Any) -> tuple[list[T], str | None]:
    """The first `limit` rows and the cursor of the next page (None on the last page)."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return items, encode_cursor(key(items[-1])) if more and items else None
