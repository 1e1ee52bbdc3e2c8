"""Unit types on the 2-level map (province, commune/ward; no district since 2025-07-01), each
with its Vietnamese name and its default yearly target of positive articles.

The plans before the reform set 8 positive articles a year per Phòng GDĐT and 2 per school.
Phòng GDĐT no longer exist: their education work went to the communes' and wards' Phòng Văn
hóa – Xã hội (about five per former district), so each of those gets 2, like a school (five
offices x 2 is close to the former 8 per district). Old registries still hold "phong_gddt"
units: they keep their type and target until an admin retypes them. Targets are overridden
per type by settings (DIEMTIN_UNIT_TARGETS)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitType:
    code: str
    name: str  # Vietnamese, as shown
    target: int  # default positive articles per school year (0: not counted)
    school: bool = False
    spellings: tuple[str, ...] = ()  # folded forms accepted in import files


UNIT_TYPE_LIST: tuple[UnitType, ...] = (
    UnitType("so", "Sở GDĐT", 0, spellings=("so gddt", "so giao duc va dao tao")),
    UnitType(
        "vhxh_xa",
        "Phòng Văn hóa – Xã hội xã/phường",
        2,
        spellings=("phong van hoa xa hoi", "phong vhxh", "van hoa xa hoi", "vhxh"),
    ),
    UnitType(
        "phong_gddt",
        "Phòng GDĐT (cũ)",
        8,
        spellings=("phong gddt", "phong giao duc va dao tao", "phong giao duc", "pgd"),
    ),
    UnitType("truong_mn", "Trường mầm non", 2, True, ("mam non", "truong mam non", "mn")),
    UnitType("truong_th", "Trường tiểu học", 2, True, ("tieu hoc", "truong tieu hoc", "th")),
    UnitType("truong_thcs", "Trường THCS", 2, True, ("thcs", "truong thcs", "trung hoc co so")),
    UnitType("truong_thpt", "Trường THPT", 2, True, ("thpt", "truong thpt", "trung hoc pho thong")),
    UnitType(
        "truong_lien_cap",
        "Trường liên cấp, PTDTNT",
        2,
        True,
        ("lien cap", "truong lien cap", "ptdtnt", "ptdtbt", "dan toc noi tru"),
    ),
    UnitType("truong", "Trường", 2, True, ("truong hoc",)),  # level not given
    UnitType(
        "gdtx",
        "Trung tâm GDNN – GDTX",
        2,
        spellings=("gdtx", "gdnn gdtx", "trung tam gdtx", "giao duc thuong xuyen"),
    ),
    UnitType("khac", "Khác", 0),
)
UNIT_TYPES: dict[str, UnitType] = {t.code: t for t in UNIT_TYPE_LIST}
UNIT_TYPE_NAMES: dict[str, str] = {t.code: t.name for t in UNIT_TYPE_LIST}
SCHOOL_TYPES = frozenset(t.code for t in UNIT_TYPE_LIST if t.school)


def configured_targets(
    *, phong_gddt: int, school: int, overrides: Mapping[str, int]
) -> dict[str, int]:
    """The targets settings ask for: DIEMTIN_POSITIVE_TARGET_PHONG_GDDT / _TRUONG (every school
    type), then DIEMTIN_UNIT_TARGETS per type."""
    legacy = {"phong_gddt": phong_gddt, **{code: school for code in SCHOOL_TYPES}}
    return yearly_targets({**legacy, **overrides})


def yearly_targets(overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Positive articles per school year for each unit type: the defaults above, with the
    settings' overrides (unknown codes in them are ignored)."""
    out = {t.code: t.target for t in UNIT_TYPE_LIST}
    for code, target in (overrides or {}).items():
        if code in out and target >= 0:
            out[code] = int(target)
    return out
