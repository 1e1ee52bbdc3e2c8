"""The press catalogue: every province of the 2025 map, consistent with the admin-units
package, honest about what was not checked."""

from __future__ import annotations

import pytest

from core.geo.data import admin_map, squash
from crawlers.catalogue import find_province, load_catalogue, parse_catalogue


def test_every_2025_province_has_its_press_and_so_portal() -> None:
    catalogue = load_catalogue()
    assert set(catalogue.provinces) == set(admin_map().provinces)
    assert len(catalogue.provinces) == 34
    for code, press in catalogue.provinces.items():
        roles = {e.role for e in press.entries}
        assert {"press", "so_gddt"} <= roles, press.short
        assert all(e.province == code and e.scope == "local" for e in press.entries)
    assert {e.name for e in catalogue.national} >= {
        "Giáo dục và Thời đại",
        "Bộ Giáo dục và Đào tạo",
    }
    assert all(e.scope == "national" and e.province is None for e in catalogue.national)


def test_merged_from_agrees_with_the_admin_units_package() -> None:
    # given the former provinces the package says each 2025 province absorbed
    amap = admin_map()
    for code, press in load_catalogue().provinces.items():
        package = {
            squash(f.short)
            for f in amap.former_provinces.values()
            if f.province == code and squash(f.short) != squash(press.short)
        }
        # then the catalogue names the same ones (Kon Tum in Quảng Ngãi, Bình Dương in HCM...)
        assert {squash(m) for m in press.merged_from} == package, press.short


def test_nothing_is_marked_verified_without_a_check() -> None:
    # Written with no network: an entry claiming verified: true would be a lie.
    catalogue = load_catalogue()
    entries = [*catalogue.national, *(e for p in catalogue.provinces.values() for e in p.entries)]
    assert entries and not any(e.verified for e in entries)


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("Quảng Ngãi", "Quảng Ngãi"),
        ("tinh quang ngai", "Quảng Ngãi"),
        ("Kon Tum", "Quảng Ngãi"),
        ("TP. Hồ Chí Minh", "Hồ Chí Minh"),
        ("Bình Dương", "Hồ Chí Minh"),
        ("Tiền Giang", "Đồng Tháp"),
        ("Hòa Bình", "Phú Thọ"),
        ("51", "Quảng Ngãi"),
    ],
)
def test_find_province_by_new_or_former_name(name: str, short: str) -> None:
    code = find_province(name)
    assert code is not None and admin_map().provinces[code].short == short


def test_find_province_unknown() -> None:
    assert find_province("Tỉnh Không Có") is None
    assert find_province("") is None


def test_a_broken_catalogue_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="not a province"):
        parse_catalogue("provinces:\n  Kon Tum Mới:\n    sources: []\n")
    with pytest.raises(ValueError, match="homepage"):
        parse_catalogue("national:\n  - name: X\n    homepage: ftp://x\n")
    twice = (
        "national:\n  - {name: A, homepage: 'https://a.vn'}\n"
        "provinces:\n  Huế:\n    sources:\n      - {name: A, homepage: 'https://b.vn'}\n"
    )
    with pytest.raises(ValueError, match="used twice"):
        parse_catalogue(twice)
