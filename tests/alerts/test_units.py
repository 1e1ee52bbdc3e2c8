"""Unit mentions: spellings, accents, abbreviations, ambiguity, the province, the cache."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.detection.evaluate import evaluate
from alerts.units.matcher import UnitMatcher, get_matcher
from core.models import DocumentUnit, Unit
from tests.factories import make_document, make_source


def _unit(uid: int, name: str, kind: str = "truong", district: str | None = None, **kw: object):
    return SimpleNamespace(
        id=uid, name=name, type=kind, district=district, aliases=kw.get("aliases", []),
        active=kw.get("active", True),
    )  # fmt: skip


UNITS = [
    _unit(1, "Trường THCS Nguyễn Huệ", district="Hòa Vang"),
    _unit(2, "Trường THCS Nguyễn Huệ", district="Liên Chiểu"),
    _unit(3, "Phòng GD&ĐT Hòa Vang", "phong", "Huyện Hòa Vang"),
    _unit(4, "Sở Giáo dục và Đào tạo", "so", aliases=["Sở GD Đà Nẵng"]),
    _unit(5, "Trường Tiểu học và THCS Lê Lợi", district="Sơn Trà"),
    _unit(6, "Trường Mầm non Hoa Sen", district="Sơn Trà"),
    _unit(7, "Trường THPT Phan Châu Trinh", district="Hải Châu", aliases=["PCT Đà Nẵng"]),
    _unit(8, "Trường THPT Đã Đóng", active=False),
]


@pytest.fixture(scope="module")
def matcher() -> UnitMatcher:
    return UnitMatcher(UNITS, province="Đà Nẵng")


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("Trường trung học phổ thông Phan Châu Trinh tổ chức lễ tri ân", [7]),
        ("truong thpt phan chau trinh to chuc le tri an", [7]),  # no diacritics
        ("HỌC SINH THPT PHAN CHÂU TRINH ĐẠT GIẢI", [7]),
        ("Học sinh trường PCT Đà Nẵng", [7]),  # an alias
        ("Phòng GD&ĐT huyện Hòa Vang cho biết", [3]),
        ("phong gddt hoa vang cho biet", [3]),
        ("Phòng Giáo dục và Đào tạo Hòa Vang kiểm tra", [3]),
        ("Phong GD-DT quan Hoa Vang", [3]),
        ("Sở GD&ĐT Đà Nẵng yêu cầu báo cáo", [4]),
        ("So Giao duc va Dao tao thanh pho Da Nang", [4]),
        ("Trường TH&THCS Lê Lợi", [5]),
        ("tiểu học và trung học cơ sở Lê Lợi", [5]),
        ("Bé học trường MN Hoa Sen", [6]),
        ("mầm non Hoa Sen", [6]),
        ("Sở GD&ĐT Hà Nội yêu cầu báo cáo", []),  # another province's Sở
        ("Đường Phan Châu Trinh bị ngập", []),  # a street, not the school
        ("Trường THPT Đã Đóng", []),  # inactive units are not matched
        ("trung học phổ thông Phan Châu Trinh và Phòng GDĐT Hòa Vang", [7, 3]),
    ],
)
def test_spellings_and_accents(matcher: UnitMatcher, text: str, ids: list[int]) -> None:
    assert matcher.find(text).unit_ids == ids


def test_shared_name_needs_the_district(matcher: UnitMatcher) -> None:
    # given two THCS Nguyễn Huệ, in Hòa Vang and in Liên Chiểu
    alone = matcher.find("Phụ huynh trường THCS Nguyễn Huệ phản ánh")
    # then the name alone is ambiguous and links neither
    assert alone.unit_ids == [] and alone.ambiguous == ["truong thcs nguyen hue"]
    # and the district in the same text decides, with or without accents
    assert matcher.find("THCS Nguyễn Huệ (huyện Hòa Vang)").unit_ids == [1]
    assert matcher.find("thcs nguyen hue, quan lien chieu").unit_ids == [2]


def test_province_named(matcher: UnitMatcher) -> None:
    assert matcher.find("Mưa lớn ở Đà Nẵng, học sinh nghỉ học").names_province
    assert matcher.find("mua lon o da nang").names_province
    # the Sở's own name carries the province
    assert matcher.find("Sở GD&ĐT Đà Nẵng").names_province
    assert not matcher.find("Mưa lớn ở Quảng Nam").names_province


def test_evaluation_links_units_and_sees_edits(asession: Session) -> None:
    # given a unit registry and a document naming one school
    asession.add(Unit(name="Trường THCS Nguyễn Huệ", type="truong", district="Hòa Vang"))
    asession.commit()
    source = make_source(asession)
    doc = make_document(asession, source, "Học sinh trường thcs Nguyen Hue đạt giải", "Tin vui.")
    asession.commit()
    # when it is evaluated twice
    evaluate(asession, doc.id)
    evaluate(asession, doc.id)
    # then it is linked once
    links = asession.scalars(select(DocumentUnit.unit_id)).all()
    assert len(links) == 1
    # when a second unit with the same name arrives (an import), the cached matcher is rebuilt
    asession.add(Unit(name="THCS Nguyễn Huệ", type="truong", district="Liên Chiểu"))
    asession.commit()
    assert get_matcher(asession, "Đà Nẵng").size == 2
    evaluate(asession, doc.id)
    # then the name is ambiguous and the link is removed rather than guessed
    assert asession.scalars(select(DocumentUnit)).all() == []
