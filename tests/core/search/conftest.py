"""A real Elasticsearch-compatible server for the search tests: noida-db, started once per session.

Set DIEMTIN_TEST_ELASTICSEARCH_URL to run the same tests against a real cluster instead."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

STARTUP_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _noida_executable() -> str | None:
    # The venv's bin first: pytest may run without the venv on PATH.
    beside = Path(sys.executable).parent / "noida-db"
    return str(beside) if beside.exists() else shutil.which("noida-db")


@pytest.fixture(scope="session")
def elasticsearch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an Elasticsearch-compatible server that lives for the whole test session."""
    if url := os.environ.get("DIEMTIN_TEST_ELASTICSEARCH_URL"):
        yield url
        return
    exe = _noida_executable()
    if exe is None:
        pytest.skip(
            "noida-db is not installed (pip install noida-db): the Elasticsearch backend tests "
            "need its Elasticsearch-compatible server, or DIEMTIN_TEST_ELASTICSEARCH_URL"
        )
    workdir = tmp_path_factory.mktemp("noida")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "noida.log"
    with log_path.open("wb") as log:
        # Its own session, so stopping it reaches the server binary the entry point spawns.
        proc = subprocess.Popen(
            [
                exe,
                "start",
                "--data-dir",
                str(workdir / "data"),
                "--host",
                "127.0.0.1",
                "--only",
                "elasticsearch",
                "--elasticsearch-port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        client = Elasticsearch(url, request_timeout=2)
        deadline = time.monotonic() + STARTUP_S
        while not client.ping():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"noida-db did not start on {url}:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        client.close()
        yield url
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process group we started: Ctrl-C first, then SIGKILL for whatever is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    # The server binary is a child of the entry point: wait for the whole group, not just it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        proc.poll()  # reap the entry point so it does not linger as a zombie
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
