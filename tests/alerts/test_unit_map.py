"""Units on the 2025 map: an old registry (districts, old communes, merged provinces) is
placed on communes and wards, and what cannot be placed is imported and reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.units.importer import import_units
from alerts.units.matcher import UnitMatcher
from alerts.units.placement import place_unit
from alerts.units.types import UNIT_TYPES, yearly_targets
from core.geo.data import admin_map
from core.models import Unit

REGISTRY = (
    Path(__file__).resolve().parents[1] / "fixtures" / "units" / "old_registry_quang_ngai.csv"
)
QUANG_NGAI = "51"


def _commune(code: str | None) -> str | None:
    return admin_map().communes[code].name if code else None


@pytest.mark.parametrize(
    ("province", "district", "commune", "expected"),
    [
        # a district that became several communes, one bearing its name (the district town)
        ("Kon Tum", "Huyện Đắk Hà", None, "Xã Đăk Hà"),
        (None, "Đăk Hà", "Thị trấn Đắk Hà", "Xã Đăk Hà"),
        # an old ward of a former city, merged into a new ward of another name
        (None, "TP Quảng Ngãi", "Phường Trần Phú", "Phường Nghĩa Lộ"),
        # an old ward whose name a different 2025 commune now bears: the old district decides
        (None, "Thành phố Quảng Ngãi", "Phường Nguyễn Nghiêm", "Phường Cẩm Thành"),
        (None, "Thị xã Đức Phổ", "Phường Nguyễn Nghiêm", "Phường Đức Phổ"),
        # a registry already on the new map
        (None, None, "phuong cam thanh", "Phường Cẩm Thành"),
        # an island district that became a special zone
        (None, "Huyện Lý Sơn", None, "Đặc khu Lý Sơn"),
        # another merged province named in the row
        ("Bình Dương", "Thành phố Thủ Dầu Một", None, "Phường Thủ Dầu Một"),
    ],
)
def test_old_units_are_placed_on_the_new_map(
    province: str | None, district: str | None, commune: str | None, expected: str
) -> None:
    placed = place_unit(province=province, district=district, commune=commune, home=QUANG_NGAI)
    assert placed.problem == ""
    assert _commune(placed.commune) == expected


def test_a_district_split_without_a_namesake_is_not_guessed() -> None:
    # Ba Tơ went to eight communes, two of which fold to "ba to" (Ba Tơ, Ba Tô)
    placed = place_unit(province=None, district="Huyện Ba Tơ", commune=None, home=QUANG_NGAI)
    assert (placed.province, placed.commune) == (QUANG_NGAI, None)
    assert "Huyện Ba Tơ (cũ) nay thuộc 8 xã/phường" in placed.problem
    assert "ghi rõ xã/phường" in placed.problem


def test_unknown_places_say_why() -> None:
    assert (
        "Không nhận ra tỉnh/thành «Sông Bé»"
        in place_unit(province="Sông Bé", district=None, commune=None, home=QUANG_NGAI).problem
    )
    assert (
        "Không tìm thấy huyện/quận"
        in place_unit(
            province=None, district="Huyện Không Có", commune=None, home=QUANG_NGAI
        ).problem
    )
    # without a home province and a province column nothing is placed, and nothing is wrong
    assert place_unit(province=None, district="Hải Châu", commune=None, home=None).problem == ""


def test_importing_an_old_registry_places_units_and_reports_the_rest(session: Session) -> None:
    # given the small old registry we wrote (Quảng Ngãi + former Kon Tum, one Bình Dương row)
    data = REGISTRY.read_bytes()
    # when it is imported by the Department of Quảng Ngãi
    report = import_units(session, filename=REGISTRY.name, data=data, home_province=QUANG_NGAI)
    # then every row is imported, typed for the 2-level map and placed where it can be
    assert (report.created, report.errors) == (10, [])
    units = {u.name: u for u in session.scalars(select(Unit))}
    placed = {name: _commune(u.commune) for name, u in units.items()}
    assert placed["Phòng GDĐT huyện Đăk Hà"] == "Xã Đăk Hà"
    assert placed["Phòng GDĐT huyện Tu Mơ Rông"] == "Xã Tu Mơ Rông"
    assert placed["Trường THCS Lê Hồng Phong"] == "Phường Nghĩa Lộ"
    assert placed["Trường Tiểu học Cẩm Thành"] == "Phường Cẩm Thành"
    assert placed["Phòng Văn hóa - Xã hội xã Lý Sơn"] == "Đặc khu Lý Sơn"
    assert placed["Trung tâm GDNN-GDTX Thủ Dầu Một"] == "Phường Thủ Dầu Một"
    assert units["Trung tâm GDNN-GDTX Thủ Dầu Một"].province == "79"
    assert units["Phòng GDĐT huyện Đăk Hà"].district == "Huyện Đắk Hà"  # the old name kept
    types = {name: u.type for name, u in units.items()}
    assert types["Trường Mầm non Hoa Sen"] == "truong_mn"
    assert types["Trường THCS Lê Hồng Phong"] == "truong_thcs"
    assert types["Phòng Văn hóa - Xã hội xã Lý Sơn"] == "vhxh_xa"
    assert types["Trung tâm GDNN-GDTX Thủ Dầu Một"] == "gdtx"
    # and what could not be placed is listed by row, with the reason
    unplaced = dict(report.unplaced)
    assert set(unplaced) == {4, 8, 11}
    assert "Huyện Ba Tơ (cũ) nay thuộc 8 xã/phường" in unplaced[4]
    assert "Không tìm thấy huyện/quận «Huyện Không Có»" in unplaced[8]
    assert "Không nhận ra tỉnh/thành «Tỉnh Sông Bé»" in unplaced[11]
    assert report.as_dict()["unplaced"][0] == {"row": 4, "message": unplaced[4]}
    # when the same file is imported again nothing changes
    again = import_units(session, filename=REGISTRY.name, data=data, home_province=QUANG_NGAI)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)


def test_yearly_targets_default_from_the_plans_and_can_be_overridden() -> None:
    targets = yearly_targets()
    assert targets["phong_gddt"] == 8 and targets["truong_thcs"] == 2 and targets["so"] == 0
    assert yearly_targets({"vhxh_xa": 3, "nope": 9, "truong_mn": -1})["vhxh_xa"] == 3
    assert "nope" not in yearly_targets({"nope": 9})
    assert yearly_targets({"truong_mn": -1})["truong_mn"] == 2
    assert all(t.name for t in UNIT_TYPES.values())


def test_a_registry_phong_gddt_is_matched_by_its_office_spellings() -> None:
    # given a former Phòng GDĐT as the registry and the import type it ("phong_gddt")
    unit = Unit(id=9, name="Phòng GDĐT huyện Đăk Hà", type="phong_gddt", district="Huyện Đắk Hà",
                aliases=[], active=True)  # fmt: skip
    matcher = UnitMatcher([unit], province="Quảng Ngãi")
    # then the press's spellings of the office name it, as they do a "phong" unit
    for text in ("Phòng GD&ĐT huyện Đắk Hà cho biết", "phong giao duc va dao tao dak ha"):
        assert matcher.find(text).unit_ids == [9], text
