"""`diemtin run` on an empty database: the first admin from DIEMTIN_ADMIN_PASSWORD."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import ensure_first_admin
from core.models import User
from core.security import verify_password
from core.settings import Settings


def test_without_a_password_it_says_how(session: Session, settings: Settings) -> None:
    message = ensure_first_admin(session, settings)
    assert message is not None and "diemtin user add admin --role admin" in message
    assert session.scalars(select(User)).all() == []


def test_with_a_password_it_creates_the_admin_once(session: Session, settings: Settings) -> None:
    settings.auth.admin_password = "mat-khau-quan-tri"
    assert "Đã tạo quản trị viên 'admin'" in (ensure_first_admin(session, settings) or "")
    session.commit()
    admin = session.scalars(select(User)).one()
    assert admin.role == "admin" and verify_password("mat-khau-quan-tri", admin.password_hash)
    assert ensure_first_admin(session, settings) is None  # users exist: nothing to do
