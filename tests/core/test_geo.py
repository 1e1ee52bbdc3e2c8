"""The province profile (2025 map, former units, spellings, neighbours) and locality."""

from __future__ import annotations

from bench.locality import measure
from core.geo.data import admin_map
from core.geo.locate import locate
from core.geo.profile import find_province, load_profile, neighbours


def _code(name: str) -> str:
    found = find_province(name)
    assert found is not None
    return found[0].code


def test_the_2025_map_and_the_one_it_replaced_are_loaded() -> None:
    amap = admin_map()
    assert len(amap.provinces) == 34
    assert len(amap.communes) == 3321
    assert len(amap.former_provinces) == 63
    assert len(amap.former_districts) == 696
    # every commune of the old map leads to a 2025 commune
    assert all(c.commune in amap.communes for c in amap.former_communes.values())


def test_profile_of_quang_ngai_holds_kon_tum_and_its_districts() -> None:
    profile = load_profile("Quảng Ngãi")
    assert profile.province.name == "Tỉnh Quảng Ngãi"
    assert len(profile.communes) == 96
    assert {c.name for c in profile.communes} >= {"Xã Tu Mơ Rông", "Phường Kon Tum", "Xã Măng Đen"}
    assert {f.short for f in profile.former_provinces} == {"Quảng Ngãi", "Kon Tum"}
    districts = {d.name for d in profile.former_districts}
    assert {"Huyện Đăk Hà", "Thành phố Kon Tum", "Huyện Lý Sơn"} <= districts
    assert len(districts) == 23
    # a former district knows the 2025 communes its communes went to
    dak_ha = next(d for d in profile.former_districts if d.name == "Huyện Đăk Hà")
    assert "Xã Đăk Hà" in {admin_map().communes[c].name for c in dak_ha.communes}
    assert profile.spellings() == ["Tỉnh Quảng Ngãi", "Quảng Ngãi", "Tinh Quang Ngai", "Quang Ngai"]


def test_province_names_old_and_new_and_their_forms() -> None:
    assert find_province("quang ngai")[0].short == "Quảng Ngãi"  # type: ignore[index]
    assert find_province("TP.HCM")[0].short == "Hồ Chí Minh"  # type: ignore[index]
    assert find_province("51")[0].short == "Quảng Ngãi"  # type: ignore[index]
    province, former = find_province("Kon Tum")  # type: ignore[misc]
    assert (province.short, former.short) == ("Quảng Ngãi", "Kon Tum")
    province, former = find_province("Bình Dương")  # type: ignore[misc]
    assert (province.short, former.short) == ("Hồ Chí Minh", "Bình Dương")
    assert find_province("Atlantis") is None
    assert load_profile("Thừa Thiên Huế").spellings()[:3] == ["Thành phố Huế", "TP. Huế", "Huế"]


def test_neighbours_are_the_land_borders() -> None:
    def names(province: str) -> set[str]:
        return {admin_map().provinces[c].short for c in neighbours(_code(province))}

    assert names("Quảng Ngãi") == {"Đà Nẵng", "Gia Lai"}
    assert names("Huế") == {"Đà Nẵng", "Quảng Trị"}
    assert names("Hà Nội") == {"Phú Thọ", "Hưng Yên", "Bắc Ninh", "Ninh Bình", "Thái Nguyên"}


def test_locality_old_names_forms_and_ties() -> None:
    qn, hp = _code("Quảng Ngãi"), _code("Hải Phòng")
    amap = admin_map()

    def communes(text: str, own: str | None = None) -> list[str]:
        return [amap.communes[c].name for c in locate(text, own=own).communes]

    assert locate("tỉnh Kon Tum (cũ)").provinces == [qn]
    assert locate("Hoc sinh huyen Dak Ha").provinces == [qn]
    # xã An Phú is in three provinces: the province named decides, then the own province
    assert communes("xã An Phú, TP. Hải Phòng") == ["Xã An Phú"]
    assert locate("xã An Phú, TP. Hải Phòng").provinces == [hp]
    assert locate("xã An Phú").provinces == []
    assert locate("xã An Phú", own=qn).provinces == [qn]
    # diacritics tell Ba Tô from Ba Tơ; without them both are meant
    assert communes("xã Ba Tơ") == ["Xã Ba Tơ"]
    assert sorted(communes("xa Ba To")) == ["Xã Ba Tô", "Xã Ba Tơ"]
    # the own province's communes count written bare; not as people's or schools' names
    assert communes("Du khách lên Măng Đen", own=qn) == ["Xã Măng Đen"]
    assert communes("Du khách lên Măng Đen") == []
    assert communes("Thầy Trương Quang Trọng; Trường THCS Ba Tơ", own=qn) == []
    # people and common words are not places
    assert locate("Chị Huế nói về hòa bình; thầy Nguyễn Thái Bình; xã hội hóa").provinces == []


def test_locality_quality_floors() -> None:
    report = measure()
    assert report.sentences >= 100
    p, c = report.provinces, report.communes
    assert p.precision >= 0.95 and p.recall >= 0.90, (p, report.errors)
    assert c.precision >= 0.85 and c.recall >= 0.80, (c, report.errors)
