"""A fresh `diemtin run` (what `make run` starts): the province is read from
DIEMTIN_PROVINCE or asked at the terminal, and the install starts with that province's press
and the national education press from the catalogue (not another province's papers)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.supervisor import start_province
from core.geo.choice import stored_province
from core.models import Source
from core.settings import Settings
from crawlers.catalogue import load_catalogue
from crawlers.catalogue.register import ensure_start_sources

ROOT = Path(__file__).resolve().parents[2]
QUANG_NGAI = "51"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_first_run_at_a_terminal_asks_until_a_province_is_named(
    session: Session, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a fresh database, no DIEMTIN_PROVINCE, and a person who first mistypes
    answers = iter(["Sông Bé", "Kon Tum"])
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return next(answers)

    # when the install starts
    code = start_province(session, settings, ask)
    # then the old name is understood as its 2025 province, and kept for the next start
    assert code == QUANG_NGAI and stored_province(session) == QUANG_NGAI
    assert len(asked) == 2 and "tỉnh/thành phố nào" in asked[0]
    assert "Không tìm thấy tỉnh/thành phố 'Sông Bé'" in capsys.readouterr().err
    assert start_province(session, settings, None) == QUANG_NGAI  # not asked again
    # and the sources are the province's press plus the national education press
    ensure_start_sources(session, settings=settings, province=code)
    names = set(session.scalars(select(Source.name)))
    assert names == {e.name for e in load_catalogue().for_province(QUANG_NGAI)}
    assert "Báo và Phát thanh, Truyền hình Đà Nẵng" not in names


def test_without_a_terminal_or_a_province_only_the_national_press(
    session: Session, settings: Settings
) -> None:
    assert start_province(session, settings, None) is None
    report = ensure_start_sources(session, settings=settings, province=None)
    sources = list(session.scalars(select(Source)))
    assert report.created == len(load_catalogue().national) == len(sources)
    assert {s.scope for s in sources} == {"national"}
    # an Enter at the question leaves the choice to the admin pages
    assert start_province(session, settings, lambda q: "") is None


@pytest.mark.slow
def test_diemtin_run_reads_diemtin_province_on_a_fresh_database(tmp_path: Path) -> None:
    # given a fresh data directory and DIEMTIN_PROVINCE, with no terminal attached
    port = free_port()
    env = {
        **os.environ,
        "DIEMTIN_DATA_DIR": str(tmp_path / "var"),
        "DIEMTIN_ENVIRONMENT": "development",
        "DIEMTIN_DATABASE_URL": "",
        "DIEMTIN_BROKER_URL": "",
        "DIEMTIN_RESULT_BACKEND": "",
        "DIEMTIN_PROVINCE": "Quảng Ngãi",
    }
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        # when it has started (the web app answers)
        deadline, up = time.monotonic() + 90, False
        while time.monotonic() < deadline and not up and proc.poll() is None:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500
            except httpx.HTTPError:
                time.sleep(0.5)
        assert up, (tmp_path / "run.log").read_text(errors="replace")[-3000:]
        # then its sources are Quảng Ngãi's press and the national education press
        with sqlite3.connect(tmp_path / "var" / "diemtin.sqlite3") as db:
            rows = db.execute("SELECT name, scope, province FROM sources").fetchall()
        expected = load_catalogue().for_province(QUANG_NGAI)
        assert {r[0] for r in rows} == {e.name for e in expected}
        assert {(r[1], r[2]) for r in rows} == {("local", QUANG_NGAI), ("national", None)}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
