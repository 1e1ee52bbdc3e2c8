"""The dashboard's địa bàn block: the province's communes and wards, "ngoài tỉnh" apart,
unit types; the provinces while none is chosen."""

from __future__ import annotations

from datetime import timedelta

from core.geo.choice import set_province
from core.models import DocumentPlace, DocumentUnit, Unit, utcnow
from tests.factories import make_document, make_source

QUANG_NGAI, GIA_LAI, DAK_HA = "51", "52", "23500"


def _seed(session) -> None:
    src = make_source(session, "Báo tỉnh thử")
    office = Unit(name="Phòng VH-XH Đăk Hà", type="vhxh_xa", province=QUANG_NGAI, commune=DAK_HA)
    session.add(office)
    session.flush()
    when = utcnow() - timedelta(days=1)
    here = make_document(session, src, "Đăk Hà khai giảng", published_at=when)
    session.add(DocumentPlace(document_id=here.id, code=DAK_HA, kind="commune"))
    named = make_document(session, src, "Phòng VH-XH nói về trường", published_at=when)
    session.add(DocumentUnit(document_id=named.id, unit_id=office.id))
    away = make_document(session, src, "Gia Lai thi tốt nghiệp", published_at=when)
    session.add(DocumentPlace(document_id=away.id, code=GIA_LAI, kind="province"))
    session.commit()


def test_dashboard_shows_communes_with_outside_the_province_apart(client_for, session) -> None:
    _seed(session)
    set_province(session, "Quảng Ngãi")
    session.commit()
    page = client_for("leadership").get("/tong-quan").text
    assert "Theo địa bàn trong tỉnh" in page
    assert "Về tỉnh: 2 · Ngoài tỉnh (tính riêng): 1 · Chưa xác định địa bàn: 0" in page
    assert '<td>Xã Đăk Hà</td><td class="num">2</td>' in page
    assert '<td>Tỉnh Gia Lai</td><td class="num">1</td>' in page
    assert '<td>Phòng Văn hóa – Xã hội xã/phường</td><td class="num">1</td>' in page


def test_without_a_province_the_dashboard_counts_by_province(client_for, session) -> None:
    _seed(session)
    page = client_for("leadership").get("/tong-quan").text
    assert "Chưa chọn tỉnh/thành phố của Sở" in page
    assert '<td>Tỉnh Quảng Ngãi</td><td class="num">2</td>' in page
