"""Every route of the app, walked as anonymous and as each of the four roles.

The table below declares who may call each path prefix. Routes are read from app.routes,
so a route added later without an entry here fails this test until someone decides."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from core.models import Role
from core.settings import Settings
from tests.factories import login_as, make_alert, make_unit

PUBLIC = "public"
SIGNED_IN = frozenset(r.value for r in Role)
READERS = SIGNED_IN
OFFICE = frozenset({"admin", "press_officer"})
ADMIN = frozenset({"admin"})
# Leadership reads the alert rules; unit focal points do not see them.
RULE_READERS = frozenset({"admin", "press_officer", "leadership"})
ROLES = [r.value for r in Role]

# (method, path prefix) -> who may call it. A prefix matches the path itself and every
# path below it ("/canh-bao" covers "/canh-bao/{alert_id}"); the longest match wins.
EXPECTED: dict[tuple[str, str], str | frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("GET", "/dang-nhap"): PUBLIC,
    ("POST", "/dang-nhap"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/dang-xuat"): SIGNED_IN,
    ("POST", "/api/v1/auth/logout"): SIGNED_IN,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("GET", "/api/v1/tokens"): SIGNED_IN,
    ("POST", "/api/v1/tokens"): SIGNED_IN,
    ("DELETE", "/api/v1/tokens"): SIGNED_IN,
    ("GET", "/tai-khoan"): SIGNED_IN,
    ("POST", "/tai-khoan"): SIGNED_IN,
    ("GET", "/"): READERS,
    ("GET", "/tai-lieu"): READERS,
    ("GET", "/api/v1/search"): READERS,
    ("GET", "/api/v1/documents"): READERS,
    ("POST", "/api/v1/classify"): READERS,
    # Label corrections (training data): the press office.
    ("GET", "/api/v1/documents/1/labels"): OFFICE,
    ("POST", "/api/v1/documents/1/labels"): OFFICE,
    ("POST", "/api/v1/tips"): OFFICE,
    ("GET", "/api/v1/cases"): READERS,
    ("POST", "/api/v1/cases"): OFFICE,
    ("GET", "/hop-thu"): READERS,
    ("GET", "/canh-bao"): READERS,
    ("POST", "/canh-bao"): OFFICE,
    # Search page tools, dashboard and monthly report: every role (focal points scoped).
    ("POST", "/luu-tim-kiem"): OFFICE,
    ("GET", "/tong-quan"): READERS,
    ("GET", "/api/v1/dashboard"): READERS,
    ("GET", "/bao-cao"): READERS,
    ("GET", "/api/v1/reports"): READERS,
    # Alert rules: the press office writes, leadership reads.
    ("GET", "/api/v1/rules"): RULE_READERS,
    ("POST", "/api/v1/rules"): OFFICE,
    ("PUT", "/api/v1/rules"): OFFICE,
    ("DELETE", "/api/v1/rules"): OFFICE,
    # Administration: pages and API, admin only.
    ("GET", "/quan-tri"): ADMIN,
    ("POST", "/quan-tri"): ADMIN,
    ("GET", "/api/v1/admin"): ADMIN,
    ("POST", "/api/v1/admin"): ADMIN,
    ("PUT", "/api/v1/admin"): ADMIN,
    ("PATCH", "/api/v1/admin"): ADMIN,
    ("DELETE", "/api/v1/admin"): ADMIN,
    # The Department's province (the admin pages' first-run form).
    ("GET", "/api/v1/province"): ADMIN,
    ("PUT", "/api/v1/province"): ADMIN,
}


def expectation(method: str, path: str) -> str | frozenset[str] | None:
    """Who may call (method, path), from the longest matching prefix; None when undeclared."""
    best: tuple[int, str | frozenset[str]] | None = None
    for (m, prefix), who in EXPECTED.items():
        if m != method:
            continue
        hit = path == prefix or (prefix != "/" and path.startswith(prefix.rstrip("/") + "/"))
        if hit and (best is None or len(prefix) > best[0]):
            best = (len(prefix), who)
    return best[1] if best else None


def all_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, concrete path) for every route, path parameters filled with 1."""
    found = []
    for ctx in iter_route_contexts(app.routes):
        path = ctx.path
        methods = ctx.methods or {"GET"}
        if ctx.methods is None:  # a mount (static files): one file under it
            path = path.rstrip("/") + "/app.css"
        for method in sorted(methods - {"HEAD"}):
            found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return found


def call(client: TestClient, method: str, path: str, html: bool):  # type: ignore[no-untyped-def]
    headers = {"Accept": "text/html"} if html else {"Accept": "application/json"}
    kwargs = {} if method in ("GET", "DELETE") else {"json": {}}
    return client.request(method, path, headers=headers, follow_redirects=False, **kwargs)


@pytest.fixture
def app(settings: Settings, session: Session):  # type: ignore[no-untyped-def]
    unit = make_unit(session)
    make_alert(session, "Cảnh báo thử nghiệm", unit_id=unit.id)
    session.commit()
    return create_app(settings), unit.id


def test_every_route_is_declared(app) -> None:  # type: ignore[no-untyped-def]
    missing = [f"{m} {p}" for m, p in all_routes(app[0]) if expectation(m, p) is None]
    assert not missing, "routes without an entry in EXPECTED (who may call them?): " + ", ".join(
        missing
    )


# A focal point whose unit was never set: same rights, and every page must still answer
# (scoped to nothing, never to the province).
FOCAL_WITHOUT_UNIT = "unit_focal-without-unit"


@pytest.mark.parametrize("caller", [None, *ROLES, FOCAL_WITHOUT_UNIT])
def test_role_route_matrix(app, caller: str | None) -> None:  # type: ignore[no-untyped-def]
    application, focal_unit = app
    role = "unit_focal" if caller == FOCAL_WITHOUT_UNIT else caller
    unit_id = focal_unit if caller == "unit_focal" else None
    failures = []
    with TestClient(application) as client:
        if role:
            login_as(client, role, unit_id)
        for method, path in all_routes(application):
            who = expectation(method, path)
            if who is None:
                continue  # reported by test_every_route_is_declared
            html = not path.startswith("/api/")
            r = call(client, method, path, html)
            status = r.status_code
            # Signing out lands on the sign-in page by design.
            to_login = path != "/dang-xuat" and r.headers.get("location", "").startswith(
                "/dang-nhap"
            )
            if who == PUBLIC:
                ok = status not in (401, 403) and not to_login
            elif role is None:
                ok = (
                    status == 401
                    if not html
                    else status == 303 and "/dang-nhap" in r.headers.get("location", "")
                )
            elif role in who:
                ok = status not in (401, 403) and not to_login
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{method} {path} as {caller or 'anonymous'}: {status}")
            if status >= 500:
                failures.append(f"{method} {path} as {caller or 'anonymous'}: {status} (error)")
            if role and client.get("/api/v1/me").status_code == 401:
                login_as(client, role, unit_id)  # signed out
    assert not failures, "\n".join(failures)
