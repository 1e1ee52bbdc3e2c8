"""Six anonymous 200 MB JSON posts at once against the web app as `diemtin run` starts it:
the answers, how long they took, the web process's peak memory and /healthz meanwhile.

    python bench/body_limits.py [--mb 200] [--parallel 6]

Before issue 16 each such post was parsed in full before its 401 (+600 MB each, six took
the process from 918 to 2,930 MB); now the declared length is refused with 413 unread.
Prints the figure last."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.supervisor import web_command  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _post(base: str, mb: int, out: list[tuple[int, float]]) -> None:
    chunk = b"a" * (1024 * 1024)

    def body():  # type: ignore[no-untyped-def]
        yield b'{"text": "'
        for _ in range(mb):
            yield chunk
        yield b'", "submitted_by": "x"}'

    size = len(b'{"text": "') + mb * len(chunk) + len(b'", "submitted_by": "x"}')
    started = time.monotonic()
    try:
        r = httpx.post(
            f"{base}/api/v1/tips",
            content=body(),
            headers={"Content-Type": "application/json", "Content-Length": str(size)},
            timeout=120,
        )
        status = r.status_code
    except httpx.HTTPError:
        status = -1  # the server closed the connection while we were still sending
    out.append((status, time.monotonic() - started))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "DIEMTIN_DATA_DIR": data_dir, "DIEMTIN_ENVIRONMENT": "development"}
        subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env, check=True)
        port = _free_port()
        proc = subprocess.Popen(web_command("127.0.0.1", port, ""), cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{base}/healthz", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            idle = _rss_mb(proc.pid, "VmRSS")
            results: list[tuple[int, float]] = []
            threads = [
                threading.Thread(target=_post, args=(base, args.mb, results))
                for _ in range(args.parallel)
            ]
            for t in threads:
                t.start()
            time.sleep(0.2)
            started = time.monotonic()
            httpx.get(f"{base}/healthz", timeout=60)
            health_s = time.monotonic() - started
            for t in threads:
                t.join()
            peak = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    codes = sorted({c for c, _ in results})
    slowest = max(s for _, s in results)
    print(f"answers {codes}, slowest {slowest:.2f} s; /healthz meanwhile {health_s:.2f} s")
    print(
        f"{args.parallel} x {args.mb} MB anonymous JSON: web process {idle:.0f} MB idle, "
        f"peak {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
