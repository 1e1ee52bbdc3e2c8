"""Sign-in limits: a backoff the real user can pass, identical answers for unknown names,
per-address limits keyed on the real client (not X-Forwarded-For), and weak passwords."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.main import create_app
from api.supervisor import web_command
from core.models import LoginAttempt
from core.security import check_new_password, hash_password
from core.settings import Settings
from tests.factories import PASSWORD, login_as, make_user
from tests.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[2]


def _login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _age_attempts(session: Session, by: timedelta) -> None:
    """Move every recorded attempt into the past, as if `by` had gone by."""
    for row in session.scalars(select(LoginAttempt)):
        row.at = row.at - by
    session.commit()


def test_five_bad_passwords_do_not_lock_the_real_user_out(
    app_client: TestClient, session: Session, settings: Settings
) -> None:
    # given a user whose name someone tried five wrong passwords for
    user = make_user(session)
    session.commit()
    for _ in range(settings.auth.login_max_failures):
        r = _login(app_client, user.username, "sai-mat-khau")
        assert r.status_code == 401
        assert r.json()["detail"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    # when a try comes at once, it waits (never 423, never a hard lock)
    r = _login(app_client, user.username)
    assert r.status_code == 429 and "chờ 2 giây" in r.json()["detail"]
    # then the real user from another address is not held up by it
    with TestClient(create_app(settings), client=("10.9.8.7", 40000)) as elsewhere:
        assert _login(elsewhere, user.username).status_code == 200
    # and from the same address the right password works once the short wait is over
    _age_attempts(session, timedelta(seconds=3))
    assert _login(app_client, user.username).status_code == 200


def test_unknown_and_real_user_names_get_identical_answers(
    app_client: TestClient, session: Session, settings: Settings
) -> None:
    user = make_user(session)
    session.commit()

    def answers(username: str) -> list[tuple[int, str]]:
        out = []
        for _ in range(settings.auth.login_max_failures + 2):
            r = _login(app_client, username, "sai-mat-khau")
            out.append((r.status_code, r.json()["detail"]))
        return out

    real, unknown = answers(user.username), answers("khong-ton-tai")
    assert real == unknown
    assert {status for status, _ in real} == {401, 429}


def test_failures_from_one_address_are_limited_across_names(
    app_client: TestClient, session: Session, settings: Settings
) -> None:
    for i in range(settings.auth.login_rate_per_ip):
        assert _login(app_client, f"ten-khac-{i}", "x").status_code == 401
    user = make_user(session)
    session.commit()
    r = _login(app_client, user.username)
    assert r.status_code == 429 and "từ địa chỉ này" in r.json()["detail"]
    # a success from this address does not reset the address's count
    with TestClient(create_app(settings), client=("10.9.8.6", 40000)) as other:
        assert _login(other, user.username).status_code == 200


def _serve(settings: Settings, proxies: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DIEMTIN_LOGIN_RATE_PER_IP": "3",
        # uvicorn's own default would trust X-Forwarded-For from 127.0.0.1
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    proc = subprocess.Popen(web_command("127.0.0.1", port, proxies), cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise AssertionError("uvicorn did not start")


@pytest.mark.parametrize(("proxies", "limited"), [("", True), ("127.0.0.1", False)])
def test_rotating_x_forwarded_for_does_not_dodge_the_address_limit(
    settings: Settings, session: Session, proxies: str, limited: bool
) -> None:
    # given the web app as `diemtin run` starts it, with or without a trusted proxy
    proc, base = _serve(settings, proxies)
    try:
        # when one caller sends failed sign-ins, each naming another X-Forwarded-For
        codes = [
            httpx.post(
                f"{base}/api/v1/auth/login",
                json={"username": f"ai-do-{i}", "password": "x"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
                timeout=30,
            ).status_code
            for i in range(4)
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    # then, trusting no proxy, the limit holds on the real address; behind a configured
    # proxy each forwarded address is a different visitor
    assert codes == ([401, 401, 401, 429] if limited else [401, 401, 401, 401])


@pytest.mark.parametrize("weak", ["12345678", "Password1", "matkhau123", "aaaaaaaaaa", "ngan"])
def test_weak_passwords_are_refused(weak: str) -> None:
    with pytest.raises(ValueError):
        check_new_password(weak)
    with pytest.raises(ValueError):
        hash_password(weak)
    check_new_password("mùa-thu-hà-nội-1975")


def test_weak_password_refused_by_admin_api_and_cli(
    app_client: TestClient, settings: Settings, session: Session
) -> None:
    login_as(app_client, "admin")
    r = app_client.post(
        "/api/v1/admin/users",
        json={"username": "yeu", "password": "12345678", "role": "press_officer"},
    )
    assert r.status_code in (400, 409, 422) and "phổ biến" in r.text
    result = CliRunner().invoke(cli_app, ["user", "add", "yeu2", "--password", "12345678"])
    assert result.exit_code != 0 and "phổ biến" in result.output
