"""The catalogue of the press per province (provinces.yaml): which sources an install for
one province starts with — its own provincial press and Sở portal, and the national
education press.

The file is data, maintained by hand; nothing in it has been fetched (every entry says
`verified: false` until someone confirms it), which is why a source without a known feed is
registered as a `site` source found from its homepage (crawlers.catalogue.register)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.geo.data import admin_map, squash
from core.geo.profile import find_province as core_find_province

CATALOGUE_PATH = Path(__file__).with_name("provinces.yaml")
ROLES = ("press", "so_gddt", "national")


@dataclass(frozen=True, slots=True)
class Entry:
    """One outlet of the catalogue."""

    name: str
    homepage: str
    role: str  # press | so_gddt | national
    province: str | None  # 2025 Province.code; None for the national press
    rss: str | None = None
    sitemap: str | None = None
    verified: bool = False
    note: str = ""

    @property
    def scope(self) -> str:
        """The Source.scope it is registered with."""
        return "national" if self.province is None else "local"


@dataclass(frozen=True, slots=True)
class ProvincePress:
    """A province's outlets and the former provinces merged into it."""

    code: str
    short: str
    merged_from: tuple[str, ...]
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    national: tuple[Entry, ...]
    provinces: dict[str, ProvincePress]  # by 2025 Province.code

    def for_province(self, code: str) -> list[Entry]:
        """What an install for `code` watches: its own press first, then the national."""
        own = self.provinces[code].entries if code in self.provinces else ()
        return [*own, *self.national]


def _entry(raw: dict[str, Any], *, role: str, province: str | None, where: str) -> Entry:
    name, homepage = str(raw.get("name") or "").strip(), str(raw.get("homepage") or "").strip()
    if not name or not homepage.startswith(("http://", "https://")):
        raise ValueError(f"{where}: an entry needs a name and an http(s) homepage: {raw!r}")
    role = str(raw.get("role") or role)
    if role not in ROLES:
        raise ValueError(f"{where}: role {role!r} is not one of {ROLES}")
    return Entry(
        name=name,
        homepage=homepage,
        role=role,
        province=province,
        rss=raw.get("rss") or None,
        sitemap=raw.get("sitemap") or None,
        verified=bool(raw.get("verified", False)),
        note=str(raw.get("note") or ""),
    )


def parse_catalogue(text: str) -> Catalogue:
    """A catalogue from YAML text; ValueError names the first thing wrong with it."""
    raw = yaml.safe_load(text) or {}
    by_key = {k: p.code for p in admin_map().provinces.values() for k in p.keys}
    national = tuple(
        _entry(e, role="national", province=None, where="national")
        for e in raw.get("national") or []
    )
    provinces: dict[str, ProvincePress] = {}
    for short, body in (raw.get("provinces") or {}).items():
        code = by_key.get(squash(str(short)))
        if code is None:
            raise ValueError(f"provinces: {short!r} is not a province of the 2025 map")
        if code in provinces:
            raise ValueError(f"provinces: {short!r} is listed twice")
        body = body or {}
        entries = tuple(
            _entry(e, role="press", province=code, where=str(short))
            for e in body.get("sources") or []
        )
        provinces[code] = ProvincePress(
            code=code,
            short=admin_map().provinces[code].short,
            merged_from=tuple(str(m) for m in body.get("merged_from") or []),
            entries=entries,
        )
    names = [e.name for e in national] + [e.name for p in provinces.values() for e in p.entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        # Source names are unique in the database: two entries of one name would collide.
        raise ValueError(f"names used twice: {', '.join(duplicates)}")
    return Catalogue(national=national, provinces=provinces)


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """The catalogue shipped with diemtin (read once per process)."""
    return parse_catalogue(path.read_text(encoding="utf-8"))


def find_province(name: str) -> str | None:
    """The 2025 Province.code of a new or former province name, in any spelling."""
    found = core_find_province(name)
    return found[0].code if found else None
