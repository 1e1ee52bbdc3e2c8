"""Sign-in, sessions, CSRF, API tokens, lockout and rate limits against the real app and DB."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import SESSION_COOKIE
from core.models import AuditLog, User, WebSession, utcnow
from core.security import needs_rehash, sha256_hex, verify_password
from tests.factories import PASSWORD, login_as, make_user


def _login(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_anonymous_pages_redirect_and_api_answers_401(app_client: TestClient) -> None:
    page = app_client.get("/hop-thu", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/dang-nhap?next=%2Fhop-thu"
    api = app_client.get("/api/v1/cases")
    assert api.status_code == 401
    assert api.json()["detail"] == "Bạn cần đăng nhập để tiếp tục."
    assert api.headers["www-authenticate"] == "Bearer"
    assert app_client.get("/healthz").status_code in (200, 503)


def test_form_sign_in_sets_a_safe_cookie_and_signs_out(
    app_client: TestClient, session: Session
) -> None:
    user = make_user(session, "press_officer")
    session.commit()
    page = app_client.get("/dang-nhap")
    assert page.status_code == 200 and "Đăng nhập" in page.text
    r = app_client.post(
        "/dang-nhap",
        data={"username": user.username, "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/hop-thu"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    inbox = app_client.get("/hop-thu")
    assert inbox.status_code == 200 and user.full_name in inbox.text
    token = inbox.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert len(token) > 20
    out = app_client.post("/dang-xuat", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert app_client.get("/api/v1/me").status_code == 401
    actions = session.scalars(select(AuditLog.action).where(AuditLog.actor_id == user.id)).all()
    assert actions == ["auth.login", "auth.logout"]


def test_sign_in_from_another_site_is_refused(app_client: TestClient, session: Session) -> None:
    # given an account, and a page on another site that posts its credentials (login CSRF)
    user = make_user(session, "press_officer")
    session.commit()
    form = {"username": user.username, "password": PASSWORD}
    for origin in ("https://ke-xau.example", "null"):
        # when the visitor's browser submits it, with the Origin header browsers always send
        r = app_client.post(
            "/dang-nhap", data=form, headers={"Origin": origin}, follow_redirects=False
        )
        api = app_client.post("/api/v1/auth/login", json=form, headers={"Origin": origin})
        # then nobody is signed in
        assert r.status_code == 403 and "trang web khác" in r.text
        assert api.status_code == 403 and SESSION_COOKIE not in api.headers.get("set-cookie", "")
    assert app_client.get("/api/v1/me").status_code == 401
    # and the sign-in page itself (same origin, as the browser says) still works
    ok = app_client.post(
        "/dang-nhap", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert ok.status_code == 303 and SESSION_COOKIE in ok.headers["set-cookie"]


def test_csrf_is_required_for_cookie_writes(app_client: TestClient) -> None:
    login_as(app_client, "press_officer")
    token = app_client.headers.pop("X-CSRF-Token")
    body = {"name": "Bảng tính"}
    refused = app_client.post("/api/v1/tokens", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = app_client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    ok = app_client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    # form posts carry it as a field; the body still reaches the route intact
    form = app_client.post("/dang-xuat", data={"csrf_token": "sai"}, follow_redirects=False)
    assert form.status_code == 403
    # multipart forms too: the field is read, and the body still reaches the route
    multipart = app_client.post(
        "/dang-xuat",
        data={"csrf_token": token},
        files={"note": ("ghi-chu.txt", "nội dung".encode(), "text/plain")},
        follow_redirects=False,
    )
    assert multipart.status_code == 303


def test_personal_tokens_authenticate_without_csrf_and_can_be_revoked(
    app_client: TestClient, session: Session
) -> None:
    user = login_as(app_client, "press_officer")
    created = app_client.post("/api/v1/tokens", json={"name": "Kịch bản báo cáo"}).json()
    secret = created["token"]
    assert secret.startswith("dt_") and created["prefix"] == secret[:8]
    listed = app_client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["Kịch bản báo cáo"] and "token" not in listed[0]
    stored = session.scalars(select(WebSession)).all()
    assert all(secret not in (s.id, s.csrf_token) for s in stored)
    session.rollback()  # SQLite: the test's open write transaction would block the app
    bearer = TestClient(app_client.app)
    auth = {"Authorization": f"Bearer {secret}"}
    me = bearer.get("/api/v1/me", headers=auth).json()
    assert me == {**me, "id": user.id, "via": "token"}
    # a write with a token needs no CSRF token (no ambient credential)
    other = app_client.post("/api/v1/tokens", json={"name": "b"}).json()
    assert bearer.delete(f"/api/v1/tokens/{other['id']}", headers=auth).status_code == 204
    assert app_client.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    r = bearer.get("/api/v1/me", headers=auth)
    assert r.status_code == 401 and "thu hồi" in r.json()["detail"]
    assert bearer.get("/api/v1/me", headers={"Authorization": "Bearer dt_nope"}).status_code == 401
    # a request that sends a bad token is not rescued by its cookie
    assert app_client.get("/api/v1/me", headers={"Authorization": "Basic eA=="}).status_code == 401


def test_session_expires_and_slides(app_client: TestClient, session: Session) -> None:
    login_as(app_client, "leadership")
    cookie = app_client.cookies.get(SESSION_COOKIE)
    assert cookie
    row = session.get(WebSession, sha256_hex(cookie))
    assert row is not None and row.id != cookie
    # given a session close to expiry, a request pushes the expiry forward
    row.expires_at = utcnow() + timedelta(minutes=10)
    session.commit()
    assert app_client.get("/api/v1/me").status_code == 200
    session.expire_all()
    assert session.get(WebSession, row.id).expires_at > utcnow() + timedelta(hours=11)  # type: ignore[union-attr]
    # when it has expired, the cookie no longer works
    session.get(WebSession, row.id).expires_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
    session.commit()
    assert app_client.get("/api/v1/me").status_code == 401


def test_scrypt_hash_verifies_and_is_rehashed_with_argon2(
    app_client: TestClient, session: Session
) -> None:
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = (
        f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )
    user = make_user(session)
    user.password_hash = legacy
    session.commit()
    assert needs_rehash(legacy) and verify_password(PASSWORD, legacy)
    assert _login(app_client, user.username).status_code == 200
    session.expire_all()
    new_hash = session.get(User, user.id).password_hash  # type: ignore[union-attr]
    assert new_hash.startswith("$argon2id$") and verify_password(PASSWORD, new_hash)
    assert not needs_rehash(new_hash)


def test_account_page_creates_shows_once_and_revokes_tokens(app_client: TestClient) -> None:
    login_as(app_client, "leadership")
    token = app_client.headers["X-CSRF-Token"]
    empty = app_client.post("/tai-khoan/ma-truy-cap", data={"csrf_token": token, "name": " "})
    assert empty.status_code == 400 and "Vui lòng đặt tên" in empty.text
    page = app_client.post(
        "/tai-khoan/ma-truy-cap", data={"csrf_token": token, "name": "<b>Bảng tính</b>"}
    )
    assert page.status_code == 200 and "&lt;b&gt;Bảng tính&lt;/b&gt;" in page.text
    secret = page.text.split('id="new-token">')[1].split("<")[0]
    assert app_client.get("/tai-khoan").text.count(secret) == 0  # shown once only
    bearer = TestClient(app_client.app)
    auth = {"Authorization": f"Bearer {secret}"}
    assert bearer.get("/api/v1/me", headers=auth).json()["role"] == "leadership"
    token_id = app_client.get("/api/v1/tokens").json()[0]["id"]
    r = app_client.post(
        f"/tai-khoan/ma-truy-cap/{token_id}/thu-hoi",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert bearer.get("/api/v1/me", headers=auth).status_code == 401


def test_cookie_is_secure_when_settings_say_so(settings, session: Session) -> None:  # type: ignore[no-untyped-def]
    from api.main import create_app

    user = make_user(session)
    session.commit()
    settings.auth.cookie_secure = True
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        r = _login(client, user.username)
    assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]
