"""Auth endpoints of the JSON API: sign-in for scripts and the browser, /me, personal tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import (
    SESSION_COOKIE,
    LoginError,
    NewSession,
    audit,
    authenticate,
    create_session,
    create_token,
    end_session,
)
from api.deps import Principal, PrincipalDep, RowId, SessionDep, SettingsDep, client_ip
from api.schemas import ErrorOut
from core.models import ApiToken, User, utcnow
from core.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100, examples=["vanphong"])
    password: str = Field(min_length=1, max_length=1000, examples=["mật-khẩu-của-bạn"])


class MeOut(BaseModel):
    id: int = Field(examples=[3])
    username: str = Field(examples=["vanphong"])
    full_name: str = Field(examples=["Nguyễn Thị Lan"])
    role: str = Field(description="admin | press_officer | leadership | unit_focal")
    unit_id: int | None = Field(default=None, description="Set for unit focal points")
    via: str = Field(description="session (cookie) or token (Bearer)", examples=["token"])


class LoginOut(BaseModel):
    user: MeOut
    csrf_token: str = Field(description="Send as X-CSRF-Token on unsafe requests with the cookie")


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Bảng tính báo cáo tháng"])


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The first characters, to tell tokens apart")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret: shown this once, only its sha256 is stored")


def set_session_cookie(response: Response, cookie: str, settings: Settings) -> None:
    """Give the browser its session cookie (HttpOnly, SameSite=Lax, Secure in production)."""
    # No max-age: the server decides expiry (sliding), the browser forgets it on exit.
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _me(user: User, via: str) -> MeOut:
    return MeOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        unit_id=user.unit_id,
        via=via,
    )


@router.post(
    "/auth/login",
    response_model=LoginOut,
    responses={401: {"model": ErrorOut}, 423: {"model": ErrorOut}, 429: {"model": ErrorOut}},
)
def login(
    body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> LoginOut:
    """Sign in with user name and password: sets the session cookie, returns the CSRF token."""
    try:
        user = authenticate(
            session,
            username=body.username,
            password=body.password,
            ip=client_ip(request),
            settings=settings,
        )
    except LoginError as exc:
        raise HTTPException(status_code=exc.status_code, detail=str(exc)) from None
    new = sign_in(session, user, request, settings, via="api")
    set_session_cookie(response, new.cookie, settings)
    return LoginOut(user=_me(user, "session"), csrf_token=new.row.csrf_token)


def sign_in(
    session: Session, user: User, request: Request, settings: Settings, *, via: str
) -> NewSession:
    """Open, audit and commit the browser session of a user who just authenticated."""
    new = create_session(
        session,
        user,
        settings=settings,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    audit(session, user_ref(user, request), "auth.login", "user", user.id, {"via": via})
    session.commit()
    return new


def user_ref(user: User, request: Request) -> Principal:
    """An audit actor for a user who is not yet a Principal (signing in)."""
    return Principal(user.id, user.username, user.role, user.unit_id, ip=client_ip(request))


@router.post("/auth/logout", status_code=204)
def logout(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """Sign out: the session ends on the server and the cookie is cleared."""
    end_session(session, request.cookies.get(SESSION_COOKIE))
    audit(session, principal, "auth.logout", "user", principal.user_id)
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut, responses={401: {"model": ErrorOut}})
def me(session: SessionDep, principal: PrincipalDep) -> MeOut:
    """The signed-in user."""
    user = session.get(User, principal.user_id)
    assert user is not None  # get_principal just loaded it
    return _me(user, principal.via)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, principal: PrincipalDep) -> list[TokenOut]:
    """My personal API tokens (never the secrets)."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id)
    )
    return [TokenOut.model_validate(r, from_attributes=True) for r in rows]


def refuse_token_minting(principal: Principal) -> None:
    """403 for a token caller: a leaked token must not be able to outlive its revocation."""
    if principal.via != "session":
        raise HTTPException(
            status_code=403,
            detail="Mã truy cập không thể tạo mã truy cập mới; hãy đăng nhập bằng mật khẩu.",
        )


@router.post(
    "/tokens", status_code=201, response_model=NewTokenOut, responses={403: {"model": ErrorOut}}
)
def new_token(body: TokenIn, session: SessionDep, principal: PrincipalDep) -> NewTokenOut:
    """Create a personal API token (signed in with a password, not with a token)."""
    refuse_token_minting(principal)
    user = session.get(User, principal.user_id)
    assert user is not None
    secret, row = create_token(session, user, body.name)
    audit(session, principal, "token.create", "api_token", row.id, {"name": row.name})
    session.commit()
    return NewTokenOut(
        **TokenOut.model_validate(row, from_attributes=True).model_dump(), token=secret
    )


@router.delete("/tokens/{token_id}", status_code=204, responses={404: {"model": ErrorOut}})
def revoke_token(token_id: RowId, session: SessionDep, principal: PrincipalDep) -> Response:
    """Revoke one of my tokens; it stops working at once."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != principal.user_id:
        raise HTTPException(status_code=404, detail="Không tìm thấy mã truy cập.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, principal, "token.revoke", "api_token", row.id)
        session.commit()
    return Response(status_code=204)
