"""Where a unit of an old registry is on the 2025 map: its province and its commune or ward.

A registry typed before 2025-07-01 names the unit's district (huyện, quận, thị xã) and maybe
its old commune. An old commune went to exactly one new commune (the package's default one
when it was split). A district went to several: it is placed only when that is unambiguous —
it became one commune, or one of its new communes bears its name (the one that took the
district town, where the Phòng GDĐT sat: "Huyện Đăk Hà" -> "Xã Đăk Hà"). Otherwise the unit
is imported without a commune and the report says which communes it could be."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from core.geo.data import AdminMap, Commune, admin_map, squash
from core.geo.profile import find_province

MAX_LISTED = 6
# Registries annotate names: "Huyện Đắk Hà (Kon Tum cũ)", "Xã Ngọc Wang (cũ)".
_ASIDE_RE = re.compile(r"\([^)]*\)|\bcũ\s*$", re.IGNORECASE)
# Words written before a place's name; the package's keys hold the bare name too.
_PLACE_WORDS = ("xa", "phuong", "thitran", "dackhu", "huyen", "quan", "thixa", "thanhpho", "tp")


@dataclass(frozen=True, slots=True)
class Placement:
    """A unit's province and commune (2025 codes), or why the commune could not be found."""

    province: str | None
    commune: str | None
    problem: str = ""  # Vietnamese, for the import report; "" when placed (or nothing to place)


def _bare(text: str) -> str:
    key = squash(text)
    for word in _PLACE_WORDS:
        if key.startswith(word) and len(key) > len(word):
            return key[len(word) :]
    return key


def _matches(keys: tuple[str, ...], text: str) -> bool:
    return squash(text) in keys or _bare(text) in keys


def _names(amap: AdminMap, codes: list[str]) -> str:
    names = [amap.communes[c].name for c in codes[:MAX_LISTED] if c in amap.communes]
    more = len(codes) - len(names)
    return ", ".join(names) + (f" và {more} nơi khác" if more > 0 else "")


@cache
def _communes_by_key(province: str) -> dict[str, list[Commune]]:
    out: dict[str, list[Commune]] = {}
    for commune in admin_map().communes_of(province):
        for key in commune.keys:
            out.setdefault(key, []).append(commune)
    return out


def _new_commune(province: str, text: str) -> Commune | None:
    index = _communes_by_key(province)
    found = index.get(squash(text)) or index.get(_bare(text)) or []
    return found[0] if len(found) == 1 else None


def place_unit(
    *, province: str | None, district: str | None, commune: str | None, home: str | None
) -> Placement:
    """Place one registry row. `province`: the row's province (new or former name), else
    `home` (the Department's own province code) is assumed."""
    amap = admin_map()
    province, district, commune = (
        _ASIDE_RE.sub("", v).strip() or None if v else None for v in (province, district, commune)
    )
    code = home
    if province:
        found = find_province(province)
        code = found[0].code if found else None
    if province and code is None:
        return Placement(None, None, f"Không nhận ra tỉnh/thành «{province}».")
    if code is None or not (district or commune):
        return Placement(code, None)
    districts = [
        d
        for d in amap.former_districts.values()
        if d.province == code and district and _matches(d.keys, district)
    ]
    if commune:
        # A row with a former district is from before the reform: its commune is an old one
        # (an old commune may share its name with a different 2025 commune). Without one, a
        # 2025 commune's name first: the registry may already use the new map.
        new = None if districts else _new_commune(code, commune)
        if new is not None:
            return Placement(code, new.code)
        olds = [
            f
            for f in amap.former_communes.values()
            if f.province == code
            and f.commune
            and _matches(f.keys, commune)
            and (not districts or f.district in {d.code for d in districts})
        ]
        targets = sorted({f.commune for f in olds if f.commune})
        if not targets and districts:
            new = _new_commune(code, commune)
            targets = [new.code] if new is not None else []
        if len(targets) == 1:
            return Placement(code, targets[0])
        if len(targets) > 1:
            return Placement(
                code,
                None,
                f"Xã/phường «{commune}» có ở nhiều nơi ({_names(amap, targets)}): ghi rõ huyện cũ.",
            )
        if not district:
            return Placement(code, None, f"Không tìm thấy xã/phường «{commune}» trong tỉnh.")
    assert district is not None
    if not districts:
        new = _new_commune(code, district)
        if new is not None:  # a new commune written in the district column, or a special zone
            return Placement(code, new.code)
        return Placement(code, None, f"Không tìm thấy huyện/quận «{district}» (cũ) trong tỉnh.")
    communes = sorted({c for d in districts for c in d.communes})
    if len(communes) == 1:
        return Placement(code, communes[0])
    # The new commune that bears the district's name took the district town.
    short = {c: squash(amap.communes[c].short) for c in communes}
    named = [c for c in communes if any(short[c] in d.keys for d in districts)]
    if len(named) == 1:
        return Placement(code, named[0])
    if not communes:
        new = _new_commune(code, district)
        if new is not None:
            return Placement(code, new.code)
    return Placement(
        code,
        None,
        f"{districts[0].name} (cũ) nay thuộc {len(communes)} xã/phường ({_names(amap, communes)})"
        ": ghi rõ xã/phường của đơn vị.",
    )
