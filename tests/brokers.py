"""What sits in the Celery broker's queues, read straight from the embedded SQLite broker or
from Redis (DIEMTIN_TEST_BROKER=redis): kombu stores the same JSON message in both."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import redis

from core.settings import Settings


def queued_messages(settings: Settings) -> list[dict[str, Any]]:
    """Every waiting message, oldest first within each queue (Redis: queues in name order)."""
    url = settings.celery_broker_url
    if url.startswith("redis://"):
        client = redis.Redis.from_url(url)
        rows: list[dict[str, Any]] = []
        for key in sorted(client.keys()):
            if client.type(key) == b"list":  # queues; bindings and unacked are sets/hashes
                # kombu LPUSHes and BRPOPs: the oldest message is at the right end.
                rows.extend(json.loads(m) for m in reversed(client.lrange(key, 0, -1)))
        return rows
    path = Path(settings.data_dir) / "broker.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        return [json.loads(p) for (p,) in conn.execute("select payload from kombu_message")]


def queued_tasks(settings: Settings) -> list[tuple[str, list[Any]]]:
    """(task name, positional args) of every waiting message."""
    # Bodies are base64, as kombu's virtual transports store them.
    return [
        (r["headers"]["task"], json.loads(base64.b64decode(r["body"]))[0])
        for r in queued_messages(settings)
    ]
