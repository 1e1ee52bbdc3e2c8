"""`diemtin run`: one command that starts the web app, a Celery worker and the scheduler as
child processes, and stops them all together."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from sqlalchemy.orm import Session

from api.auth import ensure_first_admin
from api.cli_errors import EXIT_DATA_DIR, data_dir_message
from api.routes.health import probe_disk
from core.celery_app import QUEUES
from core.db import migrate, session_scope
from core.geo.choice import province_code, set_province
from core.settings import Settings, get_settings
from crawlers.catalogue.register import ensure_start_sources
from fixtureweb.demo import DemoSite, register_demo_source

log = logging.getLogger("diemtin.run")


def web_command(host: str, port: int, forwarded_allow_ips: str) -> list[str]:
    """The uvicorn command line of the web app."""
    # uvicorn otherwise trusts X-Forwarded-For from 127.0.0.1 (or $FORWARDED_ALLOW_IPS):
    # any local caller could then pick its own address and dodge the sign-in limits.
    proxies = (
        ["--forwarded-allow-ips", forwarded_allow_ips]
        if forwarded_allow_ips.strip()
        else ["--no-proxy-headers"]
    )
    return [
        sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
        "--host", host, "--port", str(port), "--log-level", "info", *proxies,
    ]  # fmt: skip


def _commands(
    host: str, port: int, data_dir: str, forwarded_allow_ips: str = ""
) -> dict[str, list[str]]:
    py = sys.executable
    celery = [py, "-m", "celery", "-A", "core.celery_app:app"]
    return {
        "web": web_command(host, port, forwarded_allow_ips),
        # Threads: crawls wait on the network, and SQLite plus the embedded broker need no
        # separate processes on one machine.
        "worker": [
            *celery, "worker", "-Q", ",".join(("default", *QUEUES)),
            "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO",
            "--hostname", "diemtin@%h",
        ],
        "scheduler": [
            *celery, "beat", "--loglevel", "INFO",
            "--schedule", os.path.join(data_dir, "celerybeat-schedule"),
        ],
    }  # fmt: skip


class Restarts:
    """When to restart one child: 1, 2, 4 ... 60 s after each exit; a child that ran for
    STABLE_S before it died starts again from 1 s."""

    STABLE_S = 60.0
    MAX_DELAY_S = 60.0

    def __init__(self) -> None:
        self.delay = 1.0
        self.started = time.monotonic()
        self.exited_at: float | None = None
        self.count = 0

    def due(self, name: str, returncode: int | None) -> bool:
        """Called while the child is dead: True once its restart is due (and counted)."""
        now = time.monotonic()
        if self.exited_at is None:
            self.exited_at = now
            if now - self.started >= self.STABLE_S:
                self.delay = 1.0
            log.error(
                "%s exited with code %s; restarting it in %.0f s", name, returncode, self.delay
            )
        if now - self.exited_at < self.delay:
            return False
        self.count += 1
        self.started, self.exited_at = now, None
        self.delay = min(self.delay * 2, self.MAX_DELAY_S)
        log.warning("restarting %s (restart %d)", name, self.count)
        return True


def data_dir_problem(data_dir: Path) -> str | None:
    """Why the data directory cannot hold the database (None when it can): created when
    missing (a first start), then a real write."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return str(exc)
    return probe_disk(data_dir)


PROVINCE_QUESTION = (
    "Sở Giáo dục và Đào tạo của tỉnh/thành phố nào? (ví dụ: Quảng Ngãi; tên cũ như Kon Tum "
    "cũng được; Enter để chọn sau trong trang Quản trị): "
)


def start_province(
    session: Session, settings: Settings, ask: Callable[[str], str] | None
) -> str | None:
    """The province to start with: the one chosen before, DIEMTIN_PROVINCE, or, on a first
    run at a terminal, the answer to a question (asked again until it names a province)."""
    code = province_code(session, settings.province)
    while code is None and ask is not None:
        answer = ask(PROVINCE_QUESTION).strip()
        if not answer:
            break
        try:
            code = set_province(session, answer).province.code
        except LookupError as exc:
            message = str(exc)
            print(message[:1].upper() + message[1:] + ".", file=sys.stderr)
            continue
        session.commit()
    return code


def supervise(*, demo: bool = False, host: str | None = None, port: int | None = None) -> int:
    """Run until interrupted, restarting a child that dies; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    env = os.environ.copy()
    if demo:
        # The demo feed lives on 127.0.0.1, which the SSRF guard refuses by default; only
        # that one address is opened (metadata and link-local stay refused, core/net.py).
        networks = f"{env.get('DIEMTIN_ALLOWED_PRIVATE_NETWORKS', '')} 127.0.0.1/32".strip()
        env["DIEMTIN_ALLOWED_PRIVATE_NETWORKS"] = networks
        os.environ["DIEMTIN_ALLOWED_PRIVATE_NETWORKS"] = networks
        get_settings.cache_clear()
    settings = get_settings()
    host, port = host or settings.web.host, port or settings.web.port
    problem = data_dir_problem(settings.data_dir)
    if problem:
        # One sentence for the person starting it, not a traceback (detail in the log).
        log.debug("data directory unusable: %s", problem)
        print(data_dir_message(settings.data_dir), file=sys.stderr)
        return EXIT_DATA_DIR
    migrate()
    site = None
    with session_scope() as session:
        ask = input if sys.stdin.isatty() else None
        province = start_province(session, settings, ask)
        started = ensure_start_sources(session, settings=settings, province=province)
        if started.created:
            log.info("đã thêm %d nguồn tin từ danh mục báo chí", started.created)
        first_admin = ensure_first_admin(session, settings)
        if first_admin:
            log.warning("%s", first_admin)
        if demo:
            site = DemoSite(port=settings.web.demo_port, settings=settings)
            site.start()
            register_demo_source(session, site.feed_url)
            log.info("trang báo mẫu: %s (RSS %s)", site.base_url, site.feed_url)

    commands = _commands(host, port, str(settings.data_dir), settings.web.forwarded_allow_ips)
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    restarts = {name: Restarts() for name in children}
    log.info("diemtin đang chạy: http://%s:%d (Ctrl+C để dừng)", host, port)
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    code = 0
    try:
        while not stopping:
            for name, proc in children.items():
                # One child dying (a worker killed for memory, a crash) is restarted with
                # backoff; the others, the web app above all, keep serving meanwhile.
                if proc.poll() is not None and restarts[name].due(name, proc.returncode):
                    children[name] = subprocess.Popen(commands[name], env=env)
            time.sleep(0.5)
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if site:
            site.stop()
    return code
