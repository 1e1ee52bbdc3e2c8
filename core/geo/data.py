"""Vietnam's administrative units on the 2025 map (34 provinces, 3,321 communes and wards)
and the 63 provinces, 696 districts and 10,035 communes they replaced, read from the data
files of the `vietnamadminunits` package (docs/decisions.md: why that package).

The package's own parser and converter are not used: importing them loads shapely and geopy
(+0.8 s in every worker) and its converter geocodes addresses that carry a street over the
network. Its SQLite dataset and its old -> new table hold everything we need; the version is
pinned exactly in pyproject.toml because the file layout is not a public API."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from core.text import fold

PACKAGE = "vietnamadminunits"
_NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")
# Names the package lacks, by its old province key: Thừa Thiên Huế became Thành phố Huế on
# 2025-01-01, before the merger, so the package's old map only knows the city's name while
# the press and the schools' records still write the province's.
FORMER_ALIASES = {"thanhphohue": ("tinhthuathienhue", "thuathienhue")}


def squash(text: str) -> str:
    """The comparison key of a name: folded, letters and digits only ("Ia H'Drai" -> iahdrai)."""
    return _NON_ALNUM_RE.sub("", fold(text))


@dataclass(frozen=True, slots=True)
class Province:
    """A province or centrally-run city on the 2025 map (code: the statistics office's)."""

    code: str
    name: str  # "Tỉnh Quảng Ngãi", "Thành phố Huế"
    short: str  # "Quảng Ngãi"
    keys: tuple[str, ...]  # squashed spellings, prefixed ("tinhquangngai") and bare
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune (xã), ward (phường) or special zone (đặc khu) on the 2025 map."""

    code: str
    name: str  # "Xã Tu Mơ Rông"
    short: str  # "Tu Mơ Rông"
    kind: str  # "Xã" | "Phường" | "Đặc khu"
    province: str  # Province.code
    keys: tuple[str, ...]
    lat: float
    lon: float
    area_km2: float


@dataclass(frozen=True, slots=True)
class FormerProvince:
    """One of the 63 provinces before 2025-07-01, and the province it is part of now."""

    code: str
    name: str
    short: str
    province: str  # the 2025 Province.code it merged into
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FormerDistrict:
    """A district-level unit (huyện, quận, thị xã, thành phố thuộc tỉnh), abolished in 2025."""

    code: str
    name: str  # "Huyện Đăk Hà"
    short: str
    former_province: str  # FormerProvince.code
    province: str  # 2025 Province.code
    keys: tuple[str, ...]
    communes: tuple[str, ...]  # 2025 Commune codes its communes went to


@dataclass(frozen=True, slots=True)
class FormerCommune:
    """A commune or ward before 2025 and the 2025 commune it became (the default one when
    it was split)."""

    code: str
    name: str
    district: str  # FormerDistrict.code
    province: str  # 2025 Province.code
    commune: str | None  # 2025 Commune.code
    keys: tuple[str, ...]


@dataclass(slots=True)
class AdminMap:
    """Every unit of both maps, by code."""

    version: str
    provinces: dict[str, Province] = field(default_factory=dict)
    communes: dict[str, Commune] = field(default_factory=dict)
    former_provinces: dict[str, FormerProvince] = field(default_factory=dict)
    former_districts: dict[str, FormerDistrict] = field(default_factory=dict)
    former_communes: dict[str, FormerCommune] = field(default_factory=dict)

    def communes_of(self, province: str) -> list[Commune]:
        """The 2025 communes and wards of one province, by name."""
        return sorted(
            (c for c in self.communes.values() if c.province == province), key=lambda c: c.name
        )


def package_dir() -> Path:
    """Where the package's data lives, found without importing the package (see above)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {PACKAGE} package is not installed (pyproject.toml pins it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _keys(*groups: str | None) -> tuple[str, ...]:
    out: list[str] = []
    for group in groups:
        if not group:
            continue
        values = json.loads(group) if group.startswith("[") else [group]
        for value in values:
            k = squash(value)
            if k and k not in out:
                out.append(k)
    return tuple(out)


def _old_key(joined: str) -> str:
    """The converter's "province_district_ward" key, each part squashed (a few are unfolded)."""
    return "|".join(squash(part) for part in joined.split("_"))


def _version(data: Path) -> str:
    dist = next(data.parent.parent.glob(f"{PACKAGE}-*.dist-info"), None)
    return dist.name.removesuffix(".dist-info").split("-", 1)[1] if dist else "unknown"


@cache
def admin_map() -> AdminMap:
    """Both maps, loaded once per process (~0.3 s)."""
    data = package_dir()
    out = AdminMap(version=_version(data))
    conn = sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        _load_new(conn, out)
        province_by_key = {r["provinceKey"]: r["provinceCode"] for r in conn.execute(
            "SELECT DISTINCT provinceKey, provinceCode FROM admin_units")}  # fmt: skip
        converter = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
        _load_old(conn, out, converter, province_by_key)
    finally:
        conn.close()
    return out


def _load_new(conn: sqlite3.Connection, out: AdminMap) -> None:
    for r in conn.execute(
        "SELECT province, provinceShort, provinceCode, provinceKeywords, provinceAlias, "
        "provinceLat, provinceLon, ward, wardShort, wardType, wardCode, wardKeywords, wardAlias, "
        "wardLat, wardLon, wardAreaKm2 FROM admin_units ORDER BY provinceCode, wardCode"
    ):
        code = r["provinceCode"]
        if code not in out.provinces:
            keys = _keys(r["provinceKeywords"], r["provinceAlias"])
            if r["province"].startswith("Thành phố"):
                # The press writes "TP. Huế", "TP.HCM": the package has "thanhpho..." only.
                keys += tuple("tp" + k for k in keys if not k.startswith("thanhpho"))
            out.provinces[code] = Province(
                code=code, name=r["province"], short=r["provinceShort"], keys=keys,
                lat=r["provinceLat"], lon=r["provinceLon"],
            )  # fmt: skip
        out.communes[r["wardCode"]] = Commune(
            code=r["wardCode"], name=r["ward"], short=r["wardShort"], kind=r["wardType"],
            province=code, keys=_keys(r["wardKeywords"], r["wardAlias"]),
            lat=r["wardLat"], lon=r["wardLon"], area_km2=r["wardAreaKm2"] or 0.0,
        )  # fmt: skip


def _load_old(
    conn: sqlite3.Connection,
    out: AdminMap,
    converter: dict[str, Any],
    province_by_key: dict[str, str],
) -> None:
    # new province key -> the old province keys merged into it
    new_of_old = {
        old: province_by_key[new]
        for new, olds in converter["DICT_PROVINCE"].items()
        for old in olds
    }
    new_ward_code = {
        (r["provinceKey"], r["wardKey"]): r["wardCode"]
        for r in conn.execute("SELECT provinceKey, wardKey, wardCode FROM admin_units")
    }
    # "oldprovince_olddistrict_oldward" -> 2025 commune code
    old_to_new: dict[str, str] = {}
    for new_p, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_w, olds in wards.items():
            for old in olds:
                if (new_p, new_w) in new_ward_code:
                    old_to_new[_old_key(old)] = new_ward_code[(new_p, new_w)]
    for new_p, wards in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, parts in wards.items():
            default = next((p for p in parts if p["isDefaultNewWard"]), parts[0] if parts else None)
            if default and (new_p, default["newWardKey"]) in new_ward_code:
                old_to_new[_old_key(old)] = new_ward_code[(new_p, default["newWardKey"])]
    district_communes: dict[str, set[str]] = {}
    for r in conn.execute(
        "SELECT province, provinceShort, provinceCode, provinceKey, provinceKeywords, "
        "provinceAlias, district, districtShort, districtType, districtCode, districtKey, "
        "districtKeywords, districtAlias, ward, wardCode, wardKey, wardKeywords, wardAlias "
        "FROM admin_units_legacy ORDER BY provinceCode, districtCode"
    ):
        new_p = new_of_old.get(r["provinceKey"])
        if new_p is None:
            continue
        pcode, dcode = r["provinceCode"], r["districtCode"]
        if pcode not in out.former_provinces:
            out.former_provinces[pcode] = FormerProvince(
                code=pcode, name=r["province"], short=r["provinceShort"], province=new_p,
                keys=_keys(r["provinceKeywords"], r["provinceAlias"])
                + FORMER_ALIASES.get(r["provinceKey"], ()),
            )  # fmt: skip
        if dcode not in out.former_districts:
            tp = ("tp" + squash(r["districtShort"]),) if r["districtType"] == "Thành phố" else ()
            tx = ("tx" + squash(r["districtShort"]),) if r["districtType"] == "Thị xã" else ()
            out.former_districts[dcode] = FormerDistrict(
                code=dcode, name=r["district"], short=r["districtShort"], former_province=pcode,
                province=new_p, keys=_keys(r["districtKeywords"], r["districtAlias"], *tp, *tx),
                communes=(),
            )  # fmt: skip
        if not r["wardCode"]:
            continue
        old_key = _old_key(f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}")
        new_c: str | None = old_to_new.get(old_key)
        if new_c:
            district_communes.setdefault(dcode, set()).add(new_c)
        out.former_communes[r["wardCode"]] = FormerCommune(
            code=r["wardCode"], name=r["ward"], district=dcode, province=new_p, commune=new_c,
            keys=_keys(r["wardKeywords"], r["wardAlias"]),
        )  # fmt: skip
    for dcode, communes in district_communes.items():
        d = out.former_districts[dcode]
        out.former_districts[dcode] = FormerDistrict(
            code=d.code, name=d.name, short=d.short, former_province=d.former_province,
            province=d.province, keys=d.keys, communes=tuple(sorted(communes)),
        )  # fmt: skip
