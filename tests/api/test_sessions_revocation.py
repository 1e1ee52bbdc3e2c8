"""Sessions and tokens end with the credentials they were issued under: a password change or
reset, a deactivation (reactivation revives nothing), and tokens cannot mint tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from core.settings import Settings
from tests.factories import login_as

NEW_PASSWORD = "mùa-thu-hà-nội-1975"


def _token(client: TestClient) -> dict[str, str]:
    r = client.post("/api/v1/tokens", json={"name": "Kịch bản"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_admin_password_reset_ends_old_sessions_and_tokens(
    settings: Settings, session: Session
) -> None:
    app = create_app(settings)
    with TestClient(app) as user_c, TestClient(app) as admin_c, TestClient(app) as bearer:
        # given a user signed in, with an API token
        user = login_as(user_c, "press_officer")
        auth = _token(user_c)
        login_as(admin_c, "admin")
        # when an admin resets their password
        r = admin_c.patch(f"/api/v1/admin/users/{user.id}", json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        # then the old cookie and the old token no longer work
        assert user_c.get("/api/v1/me").status_code == 401
        assert bearer.get("/api/v1/me", headers=auth).status_code == 401
        # and the new password does
        r = user_c.post(
            "/api/v1/auth/login", json={"username": user.username, "password": NEW_PASSWORD}
        )
        assert r.status_code == 200


def test_reactivation_does_not_revive_old_sessions(settings: Settings, session: Session) -> None:
    app = create_app(settings)
    with TestClient(app) as user_c, TestClient(app) as admin_c, TestClient(app) as bearer:
        user = login_as(user_c, "leadership")
        auth = _token(user_c)
        login_as(admin_c, "admin")
        # when an admin deactivates, then reactivates the account
        for active in (False, True):
            r = admin_c.patch(f"/api/v1/admin/users/{user.id}", json={"active": active})
            assert r.status_code == 200, r.text
        # then what was issued before the deactivation stays dead
        assert user_c.get("/api/v1/me").status_code == 401
        assert bearer.get("/api/v1/me", headers=auth).status_code == 401


def test_own_password_change_keeps_this_session_only(settings: Settings, session: Session) -> None:
    app = create_app(settings)
    with TestClient(app) as here, TestClient(app) as elsewhere, TestClient(app) as bearer:
        admin = login_as(here, "admin")
        auth = _token(here)
        # the same admin also signed in on another machine
        r = elsewhere.post(
            "/api/v1/auth/login",
            json={"username": admin.username, "password": "mat-khau-thu-nghiem"},
        )
        assert r.status_code == 200
        # when they change their own password here
        r = here.patch(f"/api/v1/admin/users/{admin.id}", json={"password": NEW_PASSWORD})
        assert r.status_code == 200, r.text
        # then this session goes on; the other session and the token end
        assert here.get("/api/v1/me").status_code == 200
        assert elsewhere.get("/api/v1/me").status_code == 401
        assert bearer.get("/api/v1/me", headers=auth).status_code == 401


def test_a_token_cannot_create_tokens(settings: Settings, session: Session) -> None:
    app = create_app(settings)
    with TestClient(app) as browser, TestClient(app) as bearer:
        login_as(browser, "press_officer")
        auth = _token(browser)
        api = bearer.post("/api/v1/tokens", json={"name": "con"}, headers=auth)
        page = bearer.post("/tai-khoan/ma-truy-cap", data={"name": "con"}, headers=auth)
        assert api.status_code == 403 and "đăng nhập bằng mật khẩu" in api.json()["detail"]
        assert page.status_code == 403
        assert [t["name"] for t in browser.get("/api/v1/tokens").json()] == ["Kịch bản"]


def test_changing_my_password_on_the_account_page(settings: Settings, session: Session) -> None:
    app = create_app(settings)
    with TestClient(app) as here, TestClient(app) as elsewhere, TestClient(app) as bearer:
        user = login_as(here, "unit_focal")
        auth = _token(here)
        old = {"username": user.username, "password": "mat-khau-thu-nghiem"}
        assert elsewhere.post("/api/v1/auth/login", json=old).status_code == 200

        def change(current: str, new: str, again: str | None = None):  # type: ignore[no-untyped-def]
            form = {"current": current, "new": new, "again": again or new}
            return here.post("/tai-khoan/mat-khau", data=form)

        # a wrong current password, a mismatch or a common password change nothing
        assert "không đúng" in change("sai-roi-nhe", NEW_PASSWORD).text
        assert "không khớp" in change(old["password"], NEW_PASSWORD, "khac-han-nhe").text
        weak = change(old["password"], "12345678")
        assert weak.status_code == 400 and "phổ biến" in weak.text
        assert elsewhere.get("/api/v1/me").status_code == 200
        # when the password is changed
        ok = change(old["password"], NEW_PASSWORD)
        assert ok.status_code == 200 and "Đã đổi mật khẩu" in ok.text
        # then this session goes on; the other one and the token end
        assert here.get("/api/v1/me").status_code == 200
        assert elsewhere.get("/api/v1/me").status_code == 401
        assert bearer.get("/api/v1/me", headers=auth).status_code == 401
        login = {"username": user.username, "password": NEW_PASSWORD}
        assert elsewhere.post("/api/v1/auth/login", json=login).status_code == 200
