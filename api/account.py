"""Sign-in and token rules that the account API and the account pages share (the HTTP side;
api/auth.py holds the rules that need no request)."""

from __future__ import annotations

from fastapi import HTTPException, Request, Response
from sqlalchemy.orm import Session

from api.auth import SESSION_COOKIE, NewSession, create_session
from api.deps import Principal, client_ip
from core.audit import audit
from core.models import User
from core.settings import Settings


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


def refuse_token_minting(principal: Principal) -> None:
    """403 for a token caller: a leaked token must not be able to outlive its revocation."""
    if principal.via != "session":
        raise HTTPException(
            status_code=403,
            detail="Mã truy cập không thể tạo mã truy cập mới; hãy đăng nhập bằng mật khẩu.",
        )
