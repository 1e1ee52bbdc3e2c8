"""Notification throughput: outbox rows sent per second through a local SMTP server
(aiosmtpd, plain SMTP on 127.0.0.1, one connection per message as in production), and the
time to build and render one daily digest over N classified documents.

    python bench/notify.py [--messages 300] [--docs 3000]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class _Count:
    def __init__(self) -> None:
        self.n = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.n += 1
        return "250 OK"


def main() -> int:
    """Print messages/s, then digest build+render seconds (the last figure)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--docs", type=int, default=3000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="diemtin-bench-notify-")
    os.environ.update(
        DIEMTIN_ENVIRONMENT="test", DIEMTIN_SECRET_KEY="bench", DIEMTIN_DATA_DIR=tmp,
        DIEMTIN_DATABASE_URL="",
    )  # fmt: skip
    from aiosmtpd.controller import Controller

    from alerts.notify.digest import build_digest, render_digest
    from alerts.notify.outbox import dispatch_due, enqueue
    from core import db
    from core.models import Classification, Document, Source, Story
    from core.settings import get_settings

    db.migrate()
    handler = _Count()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    settings = get_settings().copy_with(smtp={"port": port})
    now = datetime.now(UTC)
    with db.session_scope() as session:
        for i in range(args.messages):
            enqueue(session, dedupe_key=f"bench:{i}", target=f"nguoi{i}@so-gddt.vn",
                    subject="Điểm tin thử", body_text="Nội dung " * 50,
                    body_html="<p>Nội dung</p>" * 50, next_attempt_at=now)  # fmt: skip
    started = time.perf_counter()
    with db.session_scope() as session:
        while dispatch_due(session, settings, now=now, limit=100):
            pass
    elapsed = time.perf_counter() - started
    smtp.stop()
    assert handler.n == args.messages, handler.n
    print(f"outbox -> SMTP: {args.messages} messages in {elapsed:.2f} s "
          f"= {args.messages / elapsed:.0f} messages/s")  # fmt: skip

    day = (now + timedelta(hours=7)).date()
    with db.session_scope() as session:
        sources = [Source(name=f"Báo {i}", url=f"https://bao{i}.vn/rss") for i in range(20)]
        stories = [Story(title=f"Câu chuyện {i}") for i in range(args.docs // 5)]
        session.add_all(sources + stories)
        session.flush()
        topics = ["hoc_phi_thu_chi", "thi_tuyen_sinh", "nha_giao", "guong_dien_hinh"]
        for i in range(args.docs):
            doc = Document(
                id=str(uuid.uuid4()), source_id=sources[i % 20].id,
                story_id=stories[i % len(stories)].id,
                title=f"Tin giáo dục số {i}", published_at=now - timedelta(hours=(i % 23) + 1),
            )  # fmt: skip
            doc.classifications.append(Classification(
                model_version="bench", relevance=0.9, topics=[topics[i % 4]],
                sentiment=("tich_cuc", "trung_tinh", "tieu_cuc")[i % 3],
            ))  # fmt: skip
            session.add(doc)
    started = time.perf_counter()
    with db.session_scope() as session:
        digest = build_digest(session, settings, day)
        _, _, html = render_digest(digest, settings)
    elapsed = time.perf_counter() - started
    print(f"digest over {digest.total} documents: built and rendered in {elapsed:.2f} s "
          f"({len(html) // 1024} KiB HTML)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
