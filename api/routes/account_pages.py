"""Sign-in and sign-out pages (/dang-nhap, /dang-xuat) and my account (/tai-khoan): API
tokens and my password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from api.account import refuse_token_minting, set_session_cookie, sign_in
from api.auth import (
    SESSION_COOKIE,
    LoginError,
    audit,
    authenticate,
    create_token,
    end_credentials,
    end_session,
    load_session,
)
from api.deps import PrincipalDep, RowId, SessionDep, SettingsDep, client_ip
from api.templating import TEMPLATES
from core.models import ApiToken, User, utcnow
from core.security import hash_password, verify_password

router = APIRouter(include_in_schema=False)
HOME = "/hop-thu"


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; anything else (//evil, http:) goes home."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    return value


@router.get("/dang-nhap", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep, next: str | None = None) -> Response:
    """The sign-in form (or straight on to `next` when already signed in)."""
    if load_session(session, request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return TEMPLATES.TemplateResponse(
        request, "login.html", {"next": safe_next(next), "error": None, "username": ""}
    )


@router.post("/dang-nhap", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Check the credentials; on success set the session cookie and go to `next`."""
    try:
        if not username or not password:
            raise LoginError("Vui lòng nhập tên đăng nhập và mật khẩu.", 400)
        user = authenticate(
            session, username=username, password=password, ip=client_ip(request), settings=settings
        )
    except LoginError as exc:
        return TEMPLATES.TemplateResponse(
            request,
            "login.html",
            {"next": safe_next(next), "error": str(exc), "username": username},
            status_code=exc.status_code,
        )
    new = sign_in(session, user, request, settings, via="web")
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, new.cookie, settings)
    return response


@router.post("/dang-xuat")
def logout_submit(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """Sign out and return to the sign-in page."""
    end_session(session, request.cookies.get(SESSION_COOKIE))
    audit(session, principal, "auth.logout", "user", principal.user_id)
    session.commit()
    response = RedirectResponse("/dang-nhap", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _tokens_page(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    new_secret: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    notice: str | None = None,
    password_error: str | None = None,
) -> HTMLResponse:
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id.desc())
    ).all()
    context = {
        "tokens": rows,
        "new_secret": new_secret,
        "error": error,
        "notice": notice,
        "password_error": password_error,
    }
    return TEMPLATES.TemplateResponse(request, "account.html", context, status_code=status_code)


@router.get("/tai-khoan", response_class=HTMLResponse)
def account_page(request: Request, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """My account: personal API tokens (list, create, revoke)."""
    return _tokens_page(request, session, principal)


@router.post("/tai-khoan/ma-truy-cap", response_class=HTMLResponse)
def token_create(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """Create a token and show its secret this once."""
    refuse_token_minting(principal)
    if not name.strip():
        return _tokens_page(
            request, session, principal, error="Vui lòng đặt tên cho mã truy cập.", status_code=400
        )
    user = session.get(User, principal.user_id)
    assert user is not None
    secret, row = create_token(session, user, name)
    audit(session, principal, "token.create", "api_token", row.id, {"name": row.name})
    session.commit()
    return _tokens_page(request, session, principal, new_secret=secret)


@router.post("/tai-khoan/ma-truy-cap/{token_id}/thu-hoi")
def token_revoke(
    request: Request, token_id: RowId, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Revoke one of my tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != principal.user_id:
        raise HTTPException(status_code=404, detail="Không tìm thấy mã truy cập.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, principal, "token.revoke", "api_token", row.id)
        session.commit()
    return RedirectResponse("/tai-khoan", status_code=303)


@router.post("/tai-khoan/mat-khau", response_class=HTMLResponse)
def password_change(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    current: Annotated[str, Form(max_length=1000)] = "",
    new: Annotated[str, Form(max_length=200)] = "",
    again: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """Change my password: every other session and every API token of mine ends."""
    refuse_token_minting(principal)  # a token must not be able to take over the account
    user = session.get(User, principal.user_id)
    assert user is not None
    problem = None
    if not verify_password(current, user.password_hash):
        problem = "Mật khẩu hiện tại không đúng."
    elif new != again:
        problem = "Hai lần nhập mật khẩu mới không khớp."
    else:
        try:
            user.password_hash = hash_password(new)
        except ValueError as exc:
            problem = str(exc)
    if problem:
        session.rollback()
        return _tokens_page(request, session, principal, password_error=problem, status_code=400)
    end_credentials(session, user.id, keep_session=principal.session_id)
    audit(session, principal, "user.password_change", "user", user.id)
    session.commit()
    return _tokens_page(
        request,
        session,
        principal,
        notice="Đã đổi mật khẩu. Các phiên đăng nhập khác và mọi mã truy cập API đã kết thúc.",
    )
