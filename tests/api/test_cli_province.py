"""`diemtin province set / show / locate`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from core.geo.choice import stored_province
from core.models import AuditLog, DocumentPlace
from core.settings import Settings
from tests.factories import make_document, make_source

runner = CliRunner()


def test_set_by_old_name_then_show(settings: Settings, session: Session) -> None:
    # given: nothing chosen and no DIEMTIN_PROVINCE
    first = runner.invoke(app, ["province", "show"])
    assert first.exit_code == 1 and "Chưa chọn tỉnh/thành phố" in first.output
    # when: chosen by its pre-2025 name
    chosen = runner.invoke(app, ["province", "set", "Kon Tum"], catch_exceptions=False)
    # then
    assert chosen.exit_code == 0, chosen.output
    assert "Tỉnh Kon Tum (cũ) nay thuộc Tỉnh Quảng Ngãi." in chosen.output
    session.expire_all()
    assert stored_province(session) == "51"
    assert session.scalar(select(AuditLog.action).where(AuditLog.action == "province.set"))
    shown = runner.invoke(app, ["province", "show"], catch_exceptions=False).output
    assert "Tỉnh/thành phố: Tỉnh Quảng Ngãi (mã 51; chọn bằng diemtin province set)" in shown
    assert "Xã, phường, đặc khu: 96" in shown
    assert "Tỉnh/thành phố cũ hợp nhất: Tỉnh Quảng Ngãi, Tỉnh Kon Tum" in shown
    assert "Huyện Đăk Hà" in shown and "Thành phố Kon Tum" in shown
    assert "lân cận (tin ở đó là bối cảnh cần theo dõi): Thành phố Đà Nẵng, Tỉnh Gia Lai" in shown
    listed = runner.invoke(app, ["province", "show", "--communes"]).output
    assert "  Xã Tu Mơ Rông (mã 23425)" in listed


def test_unknown_name_is_refused(settings: Settings, session: Session) -> None:
    result = runner.invoke(app, ["province", "set", "Atlantis"])
    assert result.exit_code == 1
    assert "Không tìm thấy tỉnh/thành phố “Atlantis”" in result.output
    assert stored_province(session) is None


def test_env_default_then_locate_existing_documents(
    settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: documents stored before locality existed, DIEMTIN_PROVINCE set
    monkeypatch.setattr(settings, "province", "Quảng Ngãi")
    source = make_source(session)
    doc = make_document(session, source, "Học sinh xã An Phú nhận học bổng")
    session.commit()
    shown = runner.invoke(app, ["province", "show"], catch_exceptions=False).output
    assert "chọn bằng DIEMTIN_PROVINCE" in shown
    # when
    result = runner.invoke(app, ["province", "locate"], catch_exceptions=False)
    # then: the shared commune name goes to the own province
    assert "1 tin, bài thay đổi" in result.output
    session.expire_all()
    places = set(session.execute(
        select(DocumentPlace.code, DocumentPlace.kind).where(DocumentPlace.document_id == doc.id)
    ).tuples())  # fmt: skip
    assert places == {("51", "province"), ("21034", "commune")}
