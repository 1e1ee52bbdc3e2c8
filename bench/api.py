"""API benchmark: latency of the inbox, case page, search, dashboard and report endpoints, and
requests/s under 20 concurrent clients, against uvicorn on loopback.

The database holds N documents (bench/search.py's generator: real article paragraphs when
../shared/data is present) with classifications, units named in 15 %, and M cases. Each
endpoint gets `--requests` sequential calls (p50/p95), then a mix of all but the report runs
on `--clients` concurrent httpx clients for `--duration` s. Target: p95 <= 200 ms each. The
inbox and case pages come with the web-app branch: missing ones are reported, not measured.

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


def build_database(n: int, cases: int, batch: int = 5000) -> None:
    """N documents with labels and units, indexed for search, and `cases` alerts."""
    from sqlalchemy import insert, text

    from core.db import get_engine, migrate, new_session
    from core.models import Alert, Classification, Document, DocumentUnit, Source, Unit
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
        rows.append(
            {
                "kind": "rule",
                "title": f"Vụ việc {i}: phụ huynh phản ánh",
                "severity": rnd.choice(["low", "medium", "high", "critical"]),
                "status": status,
                "score": rnd.random(),
                "details": {"documents": [f"doc-{rnd.randrange(n)}"]},
                "created_at": created,
                "updated_at": created,
                "responded_at": created + timedelta(hours=rnd.randint(1, 48))
                if responded
                else None,
                "unit_id": rnd.randint(1, 199) if rnd.random() < 0.3 else None,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(Alert), rows)
    with new_session() as session:
        # Fresh statistics, as a long-running install has them: the planner picks indexes.
        session.execute(text("ANALYZE"))
        session.commit()
    print(f"built {n} documents and {cases} cases in {time.perf_counter() - started:.0f} s")


def auth_headers() -> dict[str, str]:
    """A Bearer token of an admin when the build has API tokens (none before sign-in exists)."""
    try:
        from api.auth import create_token  # type: ignore[attr-defined]
    except ImportError:
        return {}  # before sign-in lands every caller is the local operator
    from sqlalchemy import select

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


def pick(client, candidates: list[str]) -> str | None:  # type: ignore[no-untyped-def]
    """The first candidate path that answers 200 (pages of other branches may be absent)."""
    for path in candidates:
        if client.get(path.format(q="")).status_code == 200:
            return path
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0)
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
    try:
        headers = auth_headers()
        with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
            case_id = random.Random(5).randint(1, args.cases)
            endpoints = {
                "inbox": pick(client, ["/hop-thu", "/api/v1/cases"]),
                "case": pick(client, [f"/vu-viec/{case_id}", f"/api/v1/cases/{case_id}"]),
                "search api": pick(client, ["/api/v1/search?q={q}"]),
                "search page": pick(client, ["/?q={q}"]),
                "dashboard": pick(client, ["/tong-quan", "/api/v1/dashboard/volume?days=30"]),
                "report": pick(client, ["/api/v1/reports"]),
            }
            results = {}
            for name, path in endpoints.items():
                if path is None:
                    print(f"{name:12} not available in this build (another branch brings it)")
                    continue
                times = []
                for i in range(args.requests + 5):
                    url = path.format(q=SEARCHES[i % len(SEARCHES)])
                    t = time.perf_counter()
                    r = client.get(url)
                    ms = (time.perf_counter() - t) * 1000
                    if r.status_code != 200:
                        raise SystemExit(f"{url} answered {r.status_code}: {r.text[:200]}")
                    if i >= 5:  # the first calls warm caches
                        times.append(ms)
                results[name] = path
                p50, p95 = percentile(times, 50), percentile(times, 95)
                print(
                    f"{name:12} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"
                    f"  ({args.requests} sequential requests, {path})"
                )
        # The report is a monthly document, not a page people keep open: timed above only.
        paths = [p for name, p in results.items() if name != "report"]
        rps = asyncio.run(load(base, paths, args.clients, args.duration, headers))
        print(f"n={args.n} cases={args.cases} dir={workdir}")
        print(f"throughput: {rps:.1f} requests/s with {args.clients} concurrent clients (mix)")
    finally:
        server.terminate()
        server.wait(timeout=30)


async def load(
    base: str, paths: list[str], clients: int, duration: float, headers: dict[str, str]
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
                url = paths[i % len(paths)].format(q=SEARCHES[i % len(SEARCHES)])
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
