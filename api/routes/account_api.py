"""Auth endpoints of the JSON API: sign-in for scripts and the browser, /me, personal tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.account import refuse_token_minting, set_session_cookie, sign_in
from api.auth import (
    SESSION_COOKIE,
    LoginError,
    audit,
    authenticate,
    create_token,
    end_session,
)
from api.deps import PrincipalDep, RowId, SessionDep, SettingsDep, client_ip
from api.schemas import ErrorOut
from core.models import ApiToken, User, utcnow

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
