"""A valid session without its CSRF token changes nothing, whatever shape the Cookie header
takes (quotes, bare names, attribute-like pairs, spaces in front of the session cookie)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import SESSION_COOKIE
from api.csrf import LOGIN_PATHS
from api.main import create_app
from core.models import ApiToken
from core.settings import Settings
from tests.api.test_route_matrix import all_routes, expectation
from tests.factories import login_as, make_alert, make_unit

# Each once made the CSRF check's cookie parser miss the session that authentication found.
SHAPES = [
    "{s}={v}",
    'x="abc; {s}={v}',
    "foo; {s}={v}",
    "path=/; {s}={v}",
    "x=a b c; {s}={v}",
    '{s}={v}; x="abc',
    "{s}=stale; {s}={v}",
]


def _headers(shape: str, cookie: str, **extra: str) -> dict[str, str]:
    return {"Cookie": shape.format(s=SESSION_COOKIE, v=cookie), **extra}


@pytest.mark.parametrize("shape", SHAPES)
def test_odd_cookie_header_does_not_skip_csrf(
    settings: Settings, session: Session, shape: str
) -> None:
    app = create_app(settings)
    with TestClient(app) as browser, TestClient(app) as attacker:
        login_as(browser, "press_officer")
        cookie = browser.cookies[SESSION_COOKIE]
        # when another site's form sends the cookie (no CSRF token) in an odd header shape
        token = attacker.post("/api/v1/tokens", json={"name": "x"}, headers=_headers(shape, cookie))
        out = attacker.post(
            "/dang-xuat", data={"a": "b"}, headers=_headers(shape, cookie), follow_redirects=False
        )
        # then both are refused, no token exists and the session still works
        assert token.status_code == 403, token.text
        assert out.status_code == 403, out.text
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0
        session.rollback()
        assert browser.get("/api/v1/me").status_code == 200


def test_every_state_changing_route_needs_the_csrf_token(
    settings: Settings, session: Session
) -> None:
    unit = make_unit(session)
    make_alert(session, "Cảnh báo thử nghiệm", unit_id=unit.id)
    session.commit()
    app = create_app(settings)
    unsafe = [
        (m, p)
        for m, p in all_routes(app)
        if m not in ("GET", "HEAD", "OPTIONS") and p not in LOGIN_PATHS
    ]
    assert len(unsafe) > 20  # the walk found the app's routes
    failures = []
    with TestClient(app) as browser, TestClient(app) as attacker:
        login_as(browser, "admin")  # the admin may call every route: only CSRF can refuse
        cookie = browser.cookies[SESSION_COOKIE]
        for method, path in unsafe:
            assert expectation(method, path) is not None
            for shape in SHAPES:
                for kwargs in ({"json": {}}, {"data": {"x": "1"}}):
                    r = attacker.request(
                        method,
                        path,
                        headers=_headers(shape, cookie, Accept="application/json"),
                        follow_redirects=False,
                        **kwargs,  # type: ignore[arg-type]
                    )
                    if r.status_code != 403:
                        failures.append(f"{method} {path} [{shape}] {kwargs}: {r.status_code}")
        assert browser.get("/api/v1/me").status_code == 200
    assert not failures, "\n".join(failures)
