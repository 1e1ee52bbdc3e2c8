"""The contention mix: everything the embedded default does at once, against `diemtin run`
(web app, worker and scheduler as real processes on one SQLite file).

While a background job runs (a relabel of the corpus, or the ingest of a feed of near-identical
items) and alert evaluation works through a backlog, signed-in clients add notes to cases,
`diemtin source list` and `diemtin user add` run as processes, and a burst of tips arrives
from 10 clients at once. Every answer is timed and kept; afterwards the database is checked
for what each client was told: what was acknowledged is stored exactly once, what failed is
not stored. Used by tests/e2e/test_mixed_load.py (20 s) and bench/contention.py (longer)."""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN, ADMIN_PASSWORD = "quantri", "mat-khau-thu-tai-7Qx!vA2p"
NEW_USER_PASSWORD = "mat-khau-nguoi-dung-9Lm#tR4e"
# What a process logs when it met the lock and failed (waiting in db_lock's backoff, logged
# as "database busy: no write lock after ...", is not a failure).
LOCK_ERROR = re.compile(
    r"database is locked|database is busy|DatabaseBusy|gave up waiting for the database"
    r"|Cơ sở dữ liệu đang bận",
    re.I,
)
LONG_WRITE = re.compile(r"held the database lock (\d+) ms")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sample:
    kind: str  # web_write | tip | cli_read | cli_write
    phase: str
    status: int
    seconds: float
    key: str = ""


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    phase: str = "start"
    # Actors that died of an exception (a client that could not even sign in).
    crashes: list[str] = field(default_factory=list)

    def guarded(self, fn: Callable[..., None]) -> Callable[..., None]:
        def run(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:
                with self.lock:
                    self.crashes.append(f"{fn.__name__}: {exc!r}"[:300])

        return run

    def add(self, kind: str, status: int, seconds: float, key: str = "") -> None:
        with self.lock:
            self.samples.append(Sample(kind, self.phase, status, seconds, key))

    def ok_keys(self, kind: str) -> list[str]:
        return [s.key for s in self.samples if s.kind == kind and s.status in (0, 200, 201)]

    def failed_keys(self, kind: str) -> list[str]:
        return [s.key for s in self.samples if s.kind == kind and s.status not in (0, 200, 201)]

    def server_errors(self) -> list[Sample]:
        return [s for s in self.samples if s.status >= 500 or s.status < 0]

    def percentiles(self, kind: str, phase: str | None = None) -> tuple[int, float, float]:
        """(count, p95, p99) in seconds."""
        xs = sorted(s.seconds for s in self.samples if s.kind == kind and phase in (None, s.phase))
        if not xs:
            return 0, float("nan"), float("nan")
        if len(xs) < 2:
            return 1, xs[0], xs[0]
        q = statistics.quantiles(xs, n=100, method="inclusive")
        return len(xs), q[94], q[98]


class Stack:
    """`diemtin run` on a data directory, with an admin to sign in as."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / "run.log"
        self.env = {
            **os.environ,
            **(env or {}),
            "DIEMTIN_DATA_DIR": str(data_dir),
            "DIEMTIN_ENVIRONMENT": "development",
            "DIEMTIN_CELERY_EAGER": "false",
            "DIEMTIN_SCHEDULER_TICK_S": "2",
            "DIEMTIN_INDEX_TICK_S": "2",
            "DIEMTIN_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1/32",
            "DIEMTIN_ADMIN_USERNAME": ADMIN,
            "DIEMTIN_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "DIEMTIN_NEW_PASSWORD": NEW_USER_PASSWORD,
            # Sign-ins from one address: the clients here are many tabs of one office.
            "DIEMTIN_LOGIN_RATE_PER_IP": "1000",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.cli_logs: list[str] = []

    def start(self, timeout: float = 180) -> Stack:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "run", "--port", str(self.port)],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"diemtin run exited: {self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=5).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("diemtin run did not answer in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, results: Results | None = None) -> httpx.Client:
        """A signed-in client; a busy sign-in (503) is counted and tried again, as a browser
        user would after the page's Retry-After."""
        c = httpx.Client(base_url=self.base, timeout=60)
        login = {"username": ADMIN, "password": ADMIN_PASSWORD}
        for _ in range(10):
            t0 = time.perf_counter()
            r = c.post("/api/v1/auth/login", json=login)
            if results is not None:
                results.add("login", r.status_code, time.perf_counter() - t0)
            if r.status_code != 503:
                break
            time.sleep(float(r.headers.get("retry-after", "5")))
        r.raise_for_status()
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    def cli(self, *args: str) -> tuple[int, float, str]:
        """Run `diemtin ARGS`; (exit code, seconds, stderr)."""
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        self.cli_logs.append(done.stderr)
        return done.returncode, time.perf_counter() - t0, done.stderr


def _timed(
    results: Results, kind: str, key: str, call: Callable[..., httpx.Response], *args: Any,
    **kwargs: Any,
) -> None:  # fmt: skip
    t0 = time.perf_counter()
    try:
        status = call(*args, **kwargs).status_code
    except httpx.HTTPError:
        status = -1  # reset or timed out: counted with the 5xx
    results.add(kind, status, time.perf_counter() - t0, key)


def web_writer(stack: Stack, results: Results, cases: list[int], stop: threading.Event) -> None:
    """A press officer working the inbox: a note on a case every ~0.2 s."""
    c = stack.client(results)
    try:
        i = 0
        while not stop.is_set():
            key = f"ghi-chu-{uuid.uuid4().hex[:12]}"
            case = cases[i % len(cases)]
            note = {"text": f"Đã liên hệ nhà trường ({key})"}
            _timed(results, "web_write", key, c.post, f"/api/v1/cases/{case}/notes", json=note)
            i += 1
            stop.wait(0.2)
    finally:
        c.close()


def cli_user(stack: Stack, results: Results, stop: threading.Event) -> None:
    """An admin at the terminal: lists sources, adds a user, again."""
    while not stop.is_set():
        code, seconds, _ = stack.cli("source", "list")
        results.add("cli_read", code, seconds)
        name = f"canbo-{uuid.uuid4().hex[:8]}"
        code, seconds, _ = stack.cli("user", "add", name, "--full-name", "Cán bộ thử tải")
        results.add("cli_write", code, seconds, name)
        stop.wait(0.5)


def tip_burst(stack: Stack, results: Results, n: int, clients: int = 10) -> None:
    """`n` tips from `clients` at once; every tenth is sent twice with its key (a retry)."""
    per = max(1, n // clients)

    def one_client(k: int) -> None:
        c = stack.client(results)
        try:
            for j in range(per):
                key = f"tip-{k}-{j}-{uuid.uuid4().hex[:6]}"
                body = {
                    "text": f"Phụ huynh báo tin số {key}: trường thu thêm tiền học thêm.",
                    "submitted_by": "Phụ huynh qua Zalo OA",
                    "channel": "zalo",
                }
                headers = {"Idempotency-Key": key}
                for _ in range(2 if j % 10 == 0 else 1):
                    _timed(results, "tip", key, c.post, "/api/v1/tips", json=body, headers=headers)
        finally:
            c.close()

    threads = [
        threading.Thread(target=results.guarded(one_client), args=(k,)) for k in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_load(
    stack: Stack, results: Results, phase: str, background: Callable[[threading.Event], None],
    *, cases: list[int], duration_s: float, tips: int, writers: int = 3,
) -> float:  # fmt: skip
    """Run the interactive load while `background` works (until it ends, at least
    `duration_s`); a burst of tips a third of the way in. Returns the phase's seconds."""
    results.phase = phase
    stop = threading.Event()
    done = threading.Event()

    def bg() -> None:
        try:
            background(stop)
        finally:
            done.set()

    actors = [threading.Thread(target=bg)]
    actors += [
        threading.Thread(target=results.guarded(web_writer), args=(stack, results, cases, stop))
        for _ in range(writers)
    ]
    actors.append(threading.Thread(target=results.guarded(cli_user), args=(stack, results, stop)))
    t0 = time.monotonic()
    for a in actors:
        a.start()
    time.sleep(duration_s / 3)
    tip_burst(stack, results, tips)
    while time.monotonic() - t0 < duration_s or not done.is_set():
        time.sleep(0.2)
        if time.monotonic() - t0 > max(10 * duration_s, 900):
            break  # a background job that never ends is reported, not waited on forever
    stop.set()
    for a in actors:
        a.join()
    return time.monotonic() - t0


def lock_errors(stack: Stack) -> list[str]:
    """Every log line of every process that met the lock (the web, worker and beat log to
    run.log; the CLI runs to their stderr)."""
    lines = stack.log_text().splitlines() + [
        line for text in stack.cli_logs for line in text.splitlines()
    ]
    return [line for line in lines if LOCK_ERROR.search(line)]


def longest_logged_write(stack: Stack) -> tuple[int, str]:
    """The longest write transaction the processes logged (core.db_lock logs those over
    250 ms with their holder) and its line; (0, "") when none was that long."""
    lines = stack.log_text().splitlines() + [
        line for text in stack.cli_logs for line in text.splitlines()
    ]
    found = [(int(m.group(1)), line) for line in lines if (m := LONG_WRITE.search(line))]
    return max(found, default=(0, ""))


def lock_error_report(stack: Stack, after: int = 12) -> str:
    """Each lock error with the log lines that follow it (who met it, and where)."""
    lines = stack.log_text().splitlines() + [
        line for text in stack.cli_logs for line in text.splitlines()
    ]
    out = []
    for i, line in enumerate(lines):
        if LOCK_ERROR.search(line):
            out.append("\n".join(x[:300] for x in lines[max(0, i - 2) : i + after]))
    return "\n----\n".join(out[:10])
