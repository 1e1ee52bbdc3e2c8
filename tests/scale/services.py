"""Real processes for the scaled-path tests: redis-server, noida-db, Celery workers and beat."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import redis

from core.settings import Settings
from tests.core.search.conftest import _noida_executable, _stop
from tests.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[2]
ALL_QUEUES = "crawl,classify,alerts,index,default"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, *logs: Path) -> None:
    """Poll `predicate` until true; fail with the tail of each log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tails = "\n".join(
        f"--- {log.name} ---\n{log.read_text(errors='replace')[-2500:]}"
        for log in logs
        if log.exists()
    )
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")


class RedisServer:
    """redis-server on a free loopback port, with append-only persistence in `workdir`."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> RedisServer:
        """Start (or restart on the same port and data) and wait until it answers PING."""
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [
            exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--protected-mode", "no", "--daemonize", "no",
        ]  # fmt: skip
        with (self.workdir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.client().ping():
                    return self
            except redis.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log_text = (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"redis-server did not start on {self.port}:\n{log_text}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no chance to save anything beyond what the append-only file has."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running_redis(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[RedisServer]:
    """A redis-server in a fresh folder `name`, stopped on exit (session fixtures use it)."""
    srv = RedisServer(tmp_path_factory.mktemp(name)).start()
    try:
        yield srv
    finally:
        srv.stop()


class NoidaServer:
    """noida-db's Elasticsearch-compatible server that a test can stop and start again."""

    def __init__(self, workdir: Path) -> None:
        exe = _noida_executable()
        if exe is None:
            pytest.fail("noida-db is not installed (pip install noida-db)")
        self.exe = exe
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NoidaServer:
        from elasticsearch import Elasticsearch

        self.workdir.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / "noida.log"
        cmd = [
            self.exe, "start", "--data-dir", str(self.workdir / "data"), "--host", "127.0.0.1",
            "--only", "elasticsearch", "--elasticsearch-port", str(self.port),
        ]  # fmt: skip
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = Elasticsearch(self.url, request_timeout=2)
        deadline = time.monotonic() + 60
        while not client.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"noida-db did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


def app_env(settings: Settings, broker_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker or beat process sharing the test's database and broker."""
    return {
        **os.environ,
        "DIEMTIN_DATA_DIR": str(settings.data_dir),
        "DIEMTIN_ENVIRONMENT": "test",
        "DIEMTIN_SECRET_KEY": "test-secret-key",
        "DIEMTIN_ALLOWED_PRIVATE_NETWORKS": "127.0.0.1/32",
        "DIEMTIN_DATABASE_URL": settings.db.url,
        "DIEMTIN_BROKER_URL": broker_url,
        "DIEMTIN_RESULT_BACKEND": "",
        "DIEMTIN_CELERY_EAGER": "false",
        "DIEMTIN_SEARCH_BACKEND": settings.search.backend,
        "DIEMTIN_ELASTICSEARCH_URL": settings.search.elasticsearch_url,
        "DIEMTIN_REDIS_VISIBILITY_TIMEOUT_S": str(settings.celery.redis_visibility_timeout_s),
        **extra,
    }


@contextmanager
def celery_process(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A core.celery_app:app <args>` as a child process, stopped on exit."""
    cmd = [sys.executable, "-m", "celery", "-A", "core.celery_app:app", *args]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def worker(
    env: dict[str, str], log: Path, name: str, queues: str = ALL_QUEUES, concurrency: int = 2
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """A real Celery worker on the given queues (thread pool: SIGKILL takes it all down)."""
    return celery_process(
        env, log, "worker", "-Q", queues, "--pool", "threads", "-c", str(concurrency),
        "--loglevel", "INFO", "--hostname", f"{name}@%h", "--without-gossip",
        "--without-mingle", "--without-heartbeat",
    )  # fmt: skip


def beat(
    env: dict[str, str], log: Path, schedule: Path
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """A real Celery beat process."""
    return celery_process(
        env, log, "beat", "--schedule", str(schedule), "--loglevel", "INFO", "--max-interval", "1"
    )
