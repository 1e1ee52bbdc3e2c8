"""Fixtures of the browser tests: the app served by a real uvicorn on the test database, a
headless Chromium page, and screenshots under test-artifacts/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    """A port nothing listens on now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(settings: Settings, session: Session, tmp_path: Path) -> Iterator[str]:
    """uvicorn serving the app on a free port, on the test database (already migrated)."""
    port = free_port()
    log = (tmp_path / "uvicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=os.environ.copy(),  # the settings fixture's DIEMTIN_* variables
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: on a loaded 2-core box the app's imports alone took over 30 s.
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "uvicorn.log").read_text()
            assert time.monotonic() < deadline, "uvicorn did not answer in 120 s"
            try:
                if httpx.get(base + "/dang-nhap", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def page() -> Iterator[Any]:
    """A fresh page in headless Chromium (the Debian package, no downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs the chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        yield context.new_page()
        browser.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
