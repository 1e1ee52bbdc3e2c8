"""The province profile: the Department's province on the 2025 map, its communes and wards,
the former provinces and districts merged into it, their spellings, and its neighbours."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from core.geo.data import (
    AdminMap,
    Commune,
    FormerDistrict,
    FormerProvince,
    Province,
    admin_map,
    squash,
)
from core.text import strip_accents

# Two communes touch when their centres are closer than the sum of the radii of discs of
# their areas; two provinces are neighbours when any of their communes touch. The package
# has no borders, and this reproduces the land borders of the provinces we checked by hand
# (docs/decisions.md).
TOUCH_FACTOR = 1.0
KM_PER_DEGREE = 111.0


@dataclass(frozen=True, slots=True)
class ProvinceProfile:
    """Everything the product knows about the Department's province."""

    province: Province
    communes: tuple[Commune, ...]
    former_provinces: tuple[FormerProvince, ...]
    former_districts: tuple[FormerDistrict, ...]
    neighbours: tuple[Province, ...]
    data_version: str

    def spellings(self) -> list[str]:
        """How the press writes the province: with and without diacritics, with its forms."""
        return spellings(self.province.name, self.province.short)


def spellings(name: str, short: str) -> list[str]:
    """'Thành phố Huế', 'Huế' -> Thành phố Huế, TP. Huế, Huế, and each without diacritics."""
    forms = [name, short]
    if name.startswith("Thành phố"):
        forms.insert(1, f"TP. {short}")
    return forms + [strip_accents(f) for f in forms if strip_accents(f) != f]


def find_province(text: str) -> tuple[Province, FormerProvince | None] | None:
    """The 2025 province a name means ("Quảng Ngãi", "quang ngai", "TP.HCM", "51"), and the
    former province when an old name was given ("Kon Tum" -> Quảng Ngãi, Kon Tum)."""
    amap = admin_map()
    wanted = text.strip()
    if wanted in amap.provinces:
        return amap.provinces[wanted], None
    k = squash(wanted)
    if not k:
        return None
    for p in amap.provinces.values():
        if k in p.keys:
            return p, None
    for fp in amap.former_provinces.values():
        if k in fp.keys:
            return amap.provinces[fp.province], fp
    return None


@cache
def _commune_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    communes = list(admin_map().communes.values())
    lat = np.array([c.lat for c in communes])
    lon = np.array([c.lon for c in communes])
    radius = np.sqrt(np.array([c.area_km2 for c in communes]) / math.pi)
    province = np.array([c.province for c in communes])
    return lat, lon, radius, province


@cache
def neighbours(code: str) -> tuple[str, ...]:
    """The provinces that share a border with this one (see TOUCH_FACTOR), by code."""
    lat, lon, radius, province = _commune_arrays()
    found: set[str] = set()
    for i in np.flatnonzero(province == code):
        dy = (lat - lat[i]) * KM_PER_DEGREE
        dx = (lon - lon[i]) * KM_PER_DEGREE * math.cos(math.radians(lat[i]))
        touching = np.hypot(dx, dy) <= (radius + radius[i]) * TOUCH_FACTOR
        found.update(str(p) for p in province[touching & (province != code)])
    return tuple(sorted(found))


def load_profile(name: str, amap: AdminMap | None = None) -> ProvinceProfile:
    """The profile of the province named `name` (a 2025 name, an old one, or its code)."""
    amap = amap or admin_map()
    found = find_province(name)
    if found is None:
        raise LookupError(f"không tìm thấy tỉnh/thành phố {name!r} trên bản đồ hành chính 2025")
    province = found[0]
    return ProvinceProfile(
        province=province,
        communes=tuple(amap.communes_of(province.code)),
        former_provinces=tuple(
            fp for fp in amap.former_provinces.values() if fp.province == province.code
        ),
        former_districts=tuple(
            sorted(
                (d for d in amap.former_districts.values() if d.province == province.code),
                key=lambda d: (d.former_province, d.name),
            )
        ),
        neighbours=tuple(amap.provinces[c] for c in neighbours(province.code)),
        data_version=amap.version,
    )
