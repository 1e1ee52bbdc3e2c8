"""Operations: /healthz says "degraded" with the reason when nothing can be written; an
unusable data directory at start-up is one sentence, not a traceback; a child of
`diemtin run` that dies is restarted while the web app keeps serving.

A full disk is made with the kernel's per-process file-size limit (RLIMIT_FSIZE, set on the
server's process with prlimit): every write to a file then fails with EFBIG, as on a full
disk every write needing space fails with ENOSPC. The tests run as root, so chmod cannot make
a directory read-only to them, and mounting a small tmpfs needs privileges a CI container
lacks; the limit needs neither and touches nothing outside the server process."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.cli_errors import EXIT_DATA_DIR
from tests.e2e.test_run_demo import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ONE_SENTENCE = "Không ghi được vào thư mục dữ liệu"


def env_for(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DIEMTIN_DATA_DIR": str(data_dir),
        "DIEMTIN_ENVIRONMENT": "development",
        "DIEMTIN_DATABASE_URL": "",
        "DIEMTIN_BROKER_URL": "",
        "DIEMTIN_RESULT_BACKEND": "",
        "DIEMTIN_SEARCH_BACKEND": "sqlite",
    }


def wait_for(check, timeout: float = 60.0, every: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s (last: {last!r})")


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The web app alone (uvicorn), on a migrated database in its own data directory."""
    data = tmp_path / "var"
    env = env_for(data)
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], env=env, cwd=ROOT, check=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_healthz_says_degraded_with_the_reason_when_the_disk_is_full(
    web: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, proc = web
    # given a healthy service
    health = wait_for(lambda: httpx.get(f"{base}/healthz", timeout=5).json())
    assert health["status"] == "ok" and health["writable"] is True, health
    # when no file of the server's can grow any more (a full disk, as far as it can tell)
    # (only the soft limit: raising a hard one back needs CAP_SYS_RESOURCE)
    inf = resource.RLIM_INFINITY
    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (0, inf))
    try:
        r = wait_for(
            lambda: (r := httpx.get(f"{base}/healthz", timeout=10)).status_code == 503 and r
        )
        # then /healthz says degraded, and why: the disk and the database writes fail
        body = r.json()
        assert body["status"] == "degraded" and body["writable"] is False
        assert body["database"] is True  # reads still work: that was the old "ok"
        assert any(reason.startswith("disk: File too large") for reason in body["reasons"])
        assert any(reason.startswith("database write:") for reason in body["reasons"])
    finally:
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (inf, inf))
    # and once space is back it is "ok" again
    wait_for(lambda: httpx.get(f"{base}/healthz", timeout=10).json()["status"] == "ok")


def test_data_dir_that_cannot_be_created_is_one_sentence_at_start_up(tmp_path: Path) -> None:
    # given a data directory under a regular file (it can never be created)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    env = env_for(blocker / "var")
    for args in (["run"], ["migrate"], ["source", "list"]):
        # when the service or a command starts
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        # then one Vietnamese sentence naming the directory, no traceback
        assert done.returncode == EXIT_DATA_DIR, (args, done.stderr[-2000:])
        assert ONE_SENTENCE in done.stderr and str(blocker / "var") in done.stderr
        assert "Traceback" not in done.stderr + done.stdout


def test_data_dir_on_a_full_disk_is_one_sentence_at_start_up(tmp_path: Path) -> None:
    # given a disk with no room (the file-size limit, inherited by the command)
    def no_room() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "run"], env=env_for(tmp_path / "var"), cwd=ROOT,
        capture_output=True, text=True, timeout=120, preexec_fn=no_room,
    )  # fmt: skip
    assert done.returncode == EXIT_DATA_DIR, done.stderr[-2000:]
    assert ONE_SENTENCE in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def children_of(pid: int) -> dict[int, str]:
    """{pid: command line} of a process's live children."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            state = stat.rsplit(")", 1)[1].split()[0]
            if ppid == pid and state != "Z":
                found[int(entry.name)] = (entry / "cmdline").read_text().replace("\0", " ")
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_dead_worker_is_restarted_and_the_web_app_keeps_serving(tmp_path: Path) -> None:
    port = free_port()
    env = {**env_for(tmp_path / "var"), "DIEMTIN_ADMIN_PASSWORD": ""}
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run", "--port", str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz", timeout=5).status_code in (200, 503), 90)
        [worker] = wait_for(
            lambda: [p for p, cmd in children_of(proc.pid).items() if " worker " in cmd], 60
        )
        # when the worker is killed (as the OOM killer would)
        os.kill(worker, signal.SIGKILL)
        # then the web app keeps answering, and a new worker is started
        new = wait_for(
            lambda: [
                p for p, cmd in children_of(proc.pid).items() if " worker " in cmd and p != worker
            ],
            30,
        )
        assert new and proc.poll() is None
        assert httpx.get(f"{base}/healthz", timeout=10).status_code in (200, 503)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    text = (tmp_path / "run.log").read_text(errors="replace")
    assert "restarting worker" in text, text[-3000:]
