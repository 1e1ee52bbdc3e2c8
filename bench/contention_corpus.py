"""The contention mix's data: a corpus built fast with bulk inserts, cases to act on, a feed
of near-identical items (our own markup), and the relabelling job.

Shared by tests/e2e/test_mixed_load.py and bench/contention.py through bench/contention_mix.py."""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import insert, select

from alerts.cases.lifecycle import set_deadline
from classifier.base import Prediction
from classifier.baseline import BaselineClassifier
from core.db import get_engine, session_scope
from core.models import Alert, Classification, Document, Source, utcnow

SEED_SOURCE = "Kho bài thử tải (contention)"
RELABEL_VERSION = "relabel-contention"
# The account the mix signs in as (bench/contention_mix.py creates it through `diemtin run`).
ADMIN_NAME = "quantri"
TOWNS = ("Hòa An", "Tân Phú", "Bình Minh", "Sơn Trà", "Phước Long", "Cẩm Lệ")
TOPICS = ("học phí", "sách giáo khoa", "bạo lực học đường", "tuyển sinh lớp 10", "bán trú")


class RelabelClassifier(BaselineClassifier):
    """The keyword baseline under another version: a relabel writes a new row per document,
    as a new model's relabelling does, without a model's minutes of inference here."""

    model_version = RELABEL_VERSION

    def predict(self, texts: list[str]) -> list[Prediction]:
        return [replace(p, model_version=RELABEL_VERSION) for p in super().predict(texts)]


def _text(i: int) -> tuple[str, str]:
    town, topic = TOWNS[i % len(TOWNS)], TOPICS[i % len(TOPICS)]
    title = f"Phụ huynh ở {town} phản ánh chuyện {topic} (bài {i})"
    body = (
        f"Nhiều phụ huynh tại {town} cho biết nhà trường đã thông báo về {topic}. "
        f"Phòng Giáo dục và Đào tạo đang xem xét phản ánh số {i}. " * 6
    )
    return title, body


def seed_corpus(
    db_url: str, n: int, *, unevaluated: int = 0, chunk: int = 5000
) -> tuple[list[str], list[str]]:
    """Insert `n` labelled, indexed documents in bulk (one transaction per chunk); the last
    `unevaluated` are left for alert evaluation. Returns (all ids, unevaluated ids)."""
    with session_scope(db_url) as session:
        source = session.scalar(select(Source).where(Source.name == SEED_SOURCE))
        if source is None:
            source = Source(
                name=SEED_SOURCE, url="https://kho-thu-tai.example.vn/rss", enabled=False
            )
            session.add(source)
            session.flush()
        source_id = source.id
    engine = get_engine(db_url)
    now = utcnow()
    ids: list[str] = []
    for start in range(0, n, chunk):
        docs, labels = [], []
        for i in range(start, min(n, start + chunk)):
            url = f"https://kho-thu-tai.example.vn/bai-{i}.html"
            doc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, url))
            title, body = _text(i)
            at = now - timedelta(minutes=n - i)
            docs.append({
                "id": doc_id, "source_id": source_id, "kind": "article", "url": url,
                "canonical_url": url, "title": title, "lead": "", "body": body,
                "published_at": at, "fetched_at": at, "updated_at": at,
                "content_hash": hashlib.sha256(body.encode()).hexdigest(), "meta": {},
                "indexed_at": now, "evaluated_at": None if i >= n - unevaluated else now,
            })  # fmt: skip
            labels.append({
                "document_id": doc_id, "model_version": "seed", "relevance": 0.9,
                "topics": ["khac"], "topic_scores": {}, "sentiment": "trung_tinh",
                "sentiment_score": 0.0, "risk": "binh_thuong", "created_at": at,
            })  # fmt: skip
            ids.append(doc_id)
        with engine.begin() as conn:
            conn.execute(insert(Document), docs)
            conn.execute(insert(Classification), labels)
    return ids, ids[n - unevaluated :] if unevaluated else []


def seed_cases(db_url: str, n: int) -> list[int]:
    """`n` open cases for the web clients to act on."""
    with session_scope(db_url) as session:
        alerts = []
        for i in range(n):
            alert = Alert(
                kind="rule", title=f"Tình huống thử tải {i}", severity="high",
                details={"documents": []}, created_at=utcnow(),
            )  # fmt: skip
            set_deadline(alert)
            alerts.append(alert)
        session.add_all(alerts)
        session.flush()
        return [a.id for a in alerts]


def relabel(db_url: str, ids: list[str], stop: threading.Event | None = None) -> int:
    """Relabel documents the way the classify task does (its batches and commits)."""
    from crawlers.classify import classify_stored

    done = 0
    classifier = RelabelClassifier()
    for start in range(0, len(ids), 512):
        if stop is not None and stop.is_set():
            break
        with session_scope(db_url) as session:
            done += len(classify_stored(session, ids[start : start + 512], classifier))
    return done


class NearIdenticalFeed:
    """An RSS feed of `n` items that differ in one number: the worst case for near-duplicate
    clustering (every item is a candidate for every other)."""

    def __init__(self, n: int) -> None:
        self.n = n
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.startswith("/rss/"):
                    body, kind = feed.rss().encode(), "application/rss+xml; charset=utf-8"
                else:
                    i = int("".join(c for c in self.path if c.isdigit()) or 0)
                    body, kind = feed.page(i).encode(), "text/html; charset=utf-8"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._rss = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.base}/rss/gan-giong.rss"

    @staticmethod
    def text(i: int) -> tuple[str, str]:
        return (
            f"Lịch thi tuyển sinh lớp 10, điểm thi {i}",
            "Sở Giáo dục và Đào tạo thông báo lịch thi tuyển sinh lớp 10 năm học mới, "
            f"thí sinh dự thi tại điểm thi số {i} cần có mặt trước 7 giờ sáng.",
        )

    def page(self, i: int) -> str:
        title, text = self.text(i)
        return (
            f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{escape(title)}'
            f"</title></head><body><article><h1>{escape(title)}</h1><p>{escape(text)}</p>"
            f"<p>{escape(text)}</p></article></body></html>"
        )

    def rss(self) -> str:
        if self._rss:
            return self._rss
        now = utcnow()
        items = []
        for i in range(self.n):
            title, text = self.text(i)
            at = (now - timedelta(seconds=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
            items.append(
                f"<item><title>{escape(title)}</title>"
                f"<link>{self.base}/gan-giong/bai-{i}.html</link>"
                f"<guid>gan-giong-{i}</guid><pubDate>{at}</pubDate>"
                f"<description>{escape(text)}</description></item>"
            )
        self._rss = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Tin gần giống nhau</title><link>http://127.0.0.1/</link>"
            "<description>Nguồn thử tải</description>" + "".join(items) + "</channel></rss>"
        )
        return self._rss

    def start(self) -> NearIdenticalFeed:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def lost_or_doubled(
    db_url: str, ok: dict[str, list[str]], failed: dict[str, list[str]]
) -> list[str]:
    """What the database holds against what each client was told: every acknowledged tip,
    note and user exactly once, nothing of a failed one. Returns the discrepancies."""
    from sqlalchemy import func

    from core.db import new_session
    from core.models import AlertEvent, User
    from crawlers.tipline import TIPLINE_SOURCE_NAME, submission_id

    problems: list[str] = []
    with new_session(db_url, read_only=True) as s:
        tip_docs = s.scalars(
            select(Document).join(Source).where(Source.name == TIPLINE_SOURCE_NAME)
        ).all()
        subs: dict[str, int] = {}
        for doc in tip_docs:
            for sub in (doc.meta or {}).get("submissions") or []:
                subs[sub["id"]] = subs.get(sub["id"], 0) + 1
        for key in set(ok["tip"]):
            if subs.get(submission_id(ADMIN_NAME, key), 0) != 1:
                problems.append(f"tip {key}: stored {subs.get(submission_id(ADMIN_NAME, key), 0)}x")
        for key in set(failed["tip"]) - set(ok["tip"]):
            if subs.get(submission_id(ADMIN_NAME, key)):
                problems.append(f"tip {key}: told failed but stored")
        if len(tip_docs) != len(set(ok["tip"])):
            problems.append(f"{len(tip_docs)} tip documents for {len(set(ok['tip']))} tips")
        notes = [n for n in s.scalars(select(AlertEvent.note).where(AlertEvent.kind == "note"))]
        for key in ok["web_write"]:
            found = sum(1 for n in notes if n and key in n)
            if found != 1:
                problems.append(f"note {key}: stored {found}x")
        for key in failed["web_write"]:
            if any(n and key in n for n in notes):
                problems.append(f"note {key}: told failed but stored")
        for name in ok["cli_write"] + failed["cli_write"]:
            n = s.scalar(select(func.count()).select_from(User).where(User.username == name))
            if n != (1 if name in ok["cli_write"] else 0):
                problems.append(f"user {name}: stored {n}x")
    return problems
