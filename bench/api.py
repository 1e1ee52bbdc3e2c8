"""API benchmark: latency of the inbox, case page, search, dashboard and report endpoints, and
requests/s under 20 concurrent clients, against uvicorn on loopback.

The database holds N documents (bench/search.py's generator: real article paragraphs when
../shared/data is present) with classifications, units named in 15 %, and M cases, each on
a story of three documents with two events. Every call signs in with an admin's API token
(Authorization: Bearer), as an API client does. Each endpoint (page and JSON API of the inbox,
the case and search) gets `--requests` sequential calls (p50/p95); then each of those runs
alone, and all of them mixed, on `--clients` concurrent httpx clients (requests/s).
Target: p95 <= 200 ms each.

    python bench/api.py [--n 100000] [--cases 2000] [--requests 200] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search import load_articles, make_docs, percentile  # noqa: E402

SEARCHES = ["giao duc", "học sinh", '"giáo viên"', "tuyen*", "thi VÀ tuyển sinh", ""]
STORY_DOCS = 3


def build_database(n: int, cases: int, batch: int = 5000) -> None:
    """N documents with labels and units, indexed for search, and `cases` alerts."""
    from sqlalchemy import insert, text

    from core.db import get_engine, migrate, new_session
    from core.models import (
        Alert,
        AlertEvent,
        Classification,
        Document,
        DocumentUnit,
        Source,
        Story,
        Unit,
    )
    from core.search import get_backend
    from core.settings import get_settings

    settings = get_settings()
    migrate()
    engine = get_engine()
    backend = get_backend(settings)
    backend.setup()
    rnd = random.Random(3)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Source),
            [
                {"id": i, "name": f"Nguồn {i}", "url": f"https://nguon{i}.example.vn/rss"}
                for i in range(1, 41)
            ],
        )
        conn.execute(
            insert(Unit),
            [
                {"id": i, "name": f"Trường {i}", "type": "phong_gddt" if i < 10 else "truong"}
                for i in range(1, 200)
            ],
        )
        # One story of three documents per case: the case page shows its timeline.
        conn.execute(
            insert(Story),
            [
                {"id": k + 1, "title": f"Vụ việc {k}", "doc_count": STORY_DOCS, "outlet_count": 2}
                for k in range(cases)
            ],
        )
    started = time.perf_counter()
    docs, labels, links, index = [], [], [], []

    def flush() -> None:
        if not docs:
            return  # an empty executemany would insert one row of defaults
        with engine.begin() as conn:
            conn.execute(insert(Document), docs)
            conn.execute(insert(Classification), labels)
            if links:
                conn.execute(insert(DocumentUnit), links)
        backend.index(index)
        for rows in (docs, labels, links, index):
            rows.clear()

    for d in make_docs(n, load_articles(settings.shared_data_dir)):
        docs.append(
            {
                "id": d.id,
                "source_id": d.source_id,
                "url": f"https://bao.example.vn/{d.id}.html",
                "title": d.title,
                "lead": d.lead,
                "body": d.body,
                "published_at": d.published_at,
                "fetched_at": d.published_at,
                "updated_at": d.published_at,
                "indexed_at": now,
                "meta": {},
                "story_id": int(d.id[4:]) // STORY_DOCS + 1
                if int(d.id[4:]) < STORY_DOCS * cases
                else None,
            }
        )
        labels.append(
            {
                "document_id": d.id,
                "model_version": "bench",
                "topics": d.topics,
                "topic_scores": {},
                "sentiment": d.sentiment,
                "risk": d.risk,
            }
        )
        links += [{"document_id": d.id, "unit_id": u} for u in d.units]
        index.append(d)
        if len(docs) >= batch:
            flush()
    flush()
    backend.refresh()
    if hasattr(backend, "optimize"):
        backend.optimize()
    statuses = ["new", "acknowledged", "assigned", "responded", "closed", "dismissed"]
    rows = []
    for i in range(cases):
        created = now - timedelta(seconds=rnd.randint(0, 90 * 86400))
        status = rnd.choice(statuses)
        responded = status in ("responded", "closed")
        story_docs = [f"doc-{STORY_DOCS * i + j}" for j in range(STORY_DOCS)]
        rows.append(
            {
                "id": i + 1,
                "kind": "hot",
                "story_id": i + 1,
                "title": f"Vụ việc {i}: phụ huynh phản ánh",
                "severity": rnd.choice(["low", "medium", "high", "critical"]),
                "status": status,
                "score": rnd.random(),
                "details": {"documents": story_docs},
                "created_at": created,
                "due_at": created + timedelta(hours=24),
                "updated_at": created,
                "responded_at": created + timedelta(hours=rnd.randint(1, 48))
                if responded
                else None,
                "unit_id": rnd.randint(1, 199) if rnd.random() < 0.3 else None,
            }
        )
    events = [
        {"alert_id": i + 1, "at": r["created_at"], "kind": kind, "to_status": to, "data": {}}
        for i, r in enumerate(rows)
        for kind, to in (("created", "new"), ("status", r["status"]))
    ]
    with engine.begin() as conn:
        conn.execute(insert(Alert), rows)
        conn.execute(insert(AlertEvent), events)
    with new_session() as session:
        # Fresh statistics, as a long-running install has them: the planner picks indexes.
        session.execute(text("ANALYZE"))
        session.commit()
    print(f"built {n} documents and {cases} cases in {time.perf_counter() - started:.0f} s")


def auth_headers() -> dict[str, str]:
    """Authorization for a new personal API token of the bench's admin user."""
    from sqlalchemy import select

    from api.auth import create_token
    from core.db import session_scope
    from core.models import User
    from core.security import hash_password

    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == "bench"))
        if user is None:
            user = User(username="bench", role="admin", password_hash=hash_password("bench-pass-1"))
            session.add(user)
            session.flush()
        secret, _ = create_token(session, user, "bench")
    return {"Authorization": f"Bearer {secret}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """uvicorn on loopback with the app factory; waits until /healthz answers."""
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("uvicorn did not start")


def timed(client, path: str, requests: int, case_ids: list[int]) -> list[float]:  # type: ignore[no-untyped-def]
    """Milliseconds of `requests` sequential GETs of `path` (after 5 warm-up calls)."""
    times = []
    for i in range(requests + 5):
        url = path.format(q=SEARCHES[i % len(SEARCHES)], case=case_ids[i % len(case_ids)])
        t = time.perf_counter()
        r = client.get(url)
        ms = (time.perf_counter() - t) * 1000
        if r.status_code != 200:
            raise SystemExit(f"{url} answered {r.status_code}: {r.text[:200]}")
        if i >= 5:  # the first calls warm caches
            times.append(ms)
    return times


ENDPOINTS = {
    "inbox page": "/hop-thu",
    "inbox api": "/api/v1/cases",
    "case page": "/canh-bao/{case}",
    "case api": "/api/v1/cases/{case}",
    "search page": "/?q={q}",
    "search api": "/api/v1/search?q={q}",
    "dashboard": "/tong-quan",
    "report": "/api/v1/reports",
}
# The dashboard and the monthly report are opened now and then: latency only.
UNDER_LOAD = ["inbox page", "inbox api", "case page", "case api", "search page", "search api"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0, help="s of the mixed load")
    parser.add_argument("--each", type=float, default=5.0, help="s of load per endpoint")
    parser.add_argument("--dir", default=None, help="data dir (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="use the database in --dir")
    args = parser.parse_args()

    import httpx

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="diemtin-apibench-"))
    env = {**os.environ, "DIEMTIN_DATA_DIR": str(workdir), "PYTHONPATH": str(ROOT)}
    os.environ["DIEMTIN_DATA_DIR"] = str(workdir)
    if not args.reuse:
        build_database(args.n, args.cases)
    port = free_port()
    server = start_server(port, env)
    base = f"http://127.0.0.1:{port}"
    case_ids = random.Random(5).sample(range(1, args.cases + 1), k=min(50, args.cases))
    figures = []
    try:
        headers = auth_headers()
        with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
            for name, path in ENDPOINTS.items():
                times = timed(client, path, args.requests, case_ids)
                p50, p95 = percentile(times, 50), percentile(times, 95)
                figures.append(f"{name:12} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
                print(f"{figures[-1]}  ({args.requests} sequential requests, {path})")
        for name in UNDER_LOAD:
            run = load(base, [ENDPOINTS[name]], args.clients, args.each, headers, case_ids)
            rps = asyncio.run(run)
            figures.append(f"{name:12} {rps:7.1f} requests/s with {args.clients} clients")
            print(figures[-1])
        paths = [ENDPOINTS[name] for name in UNDER_LOAD]
        rps = asyncio.run(load(base, paths, args.clients, args.duration, headers, case_ids))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"n={args.n} cases={args.cases} dir={workdir} (API token auth)")
    print(f"throughput: {rps:.1f} requests/s with {args.clients} concurrent clients (mix)")


async def load(  # noqa: PLR0913
    base: str,
    paths: list[str],
    clients: int,
    duration: float,
    headers: dict[str, str],
    case_ids: list[int],
) -> float:
    """Requests/s over `duration` seconds from `clients` concurrent clients cycling `paths`."""
    import httpx

    done = 0
    errors = 0
    stop = time.monotonic() + duration

    async def worker(k: int) -> None:
        nonlocal done, errors
        async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
            i = k
            while time.monotonic() < stop:
                q, case = SEARCHES[i % len(SEARCHES)], case_ids[i % len(case_ids)]
                url = paths[i % len(paths)].format(q=q, case=case)
                r = await client.get(url)
                if r.status_code == 200:
                    done += 1
                else:
                    errors += 1
                i += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    if errors:
        print(f"  {errors} requests failed under load")
    return done / (time.monotonic() - started)


if __name__ == "__main__":
    main()
