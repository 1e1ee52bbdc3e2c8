"""Which province the Department serves: chosen at run time (`diemtin province set`, the
admin pages' first-run form) and kept in app_settings, so the web app and every worker agree;
DIEMTIN_PROVINCE is the default until someone chooses."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.geo.profile import ProvinceProfile, find_province, load_profile
from core.models import AppSetting, utcnow

PROVINCE_KEY = "province"


def stored_province(session: Session) -> str | None:
    """The 2025 code of the province chosen at run time, if any."""
    value = session.scalar(select(AppSetting.value).where(AppSetting.key == PROVINCE_KEY))
    return str(value) if value else None


def province_code(session: Session, default: str = "") -> str | None:
    """The chosen province's code, else that of `default` (DIEMTIN_PROVINCE), else None."""
    code = stored_province(session)
    if code:
        return code
    found = find_province(default) if default.strip() else None
    return found[0].code if found else None


def set_province(session: Session, name: str) -> ProvinceProfile:
    """Choose the province by any of its names (old ones too); the caller commits.

    Raises LookupError (Vietnamese message) for a name on neither map."""
    profile = profile_of(name)
    row = session.get(AppSetting, PROVINCE_KEY)
    if row is None:
        session.add(AppSetting(key=PROVINCE_KEY, value=profile.province.code))
    else:
        row.value = profile.province.code
        row.updated_at = utcnow()
    return profile


def current_profile(session: Session, default: str = "") -> ProvinceProfile | None:
    """The profile of the chosen province (or of `default`), None when none is set."""
    code = province_code(session, default)
    return profile_of(code) if code else None


@lru_cache(maxsize=8)
def profile_of(name: str) -> ProvinceProfile:
    """load_profile, kept: a profile only changes with the package's data."""
    return load_profile(name)


def province_name(session: Session, default: str = "") -> str:
    """The chosen province's short 2025 name ("Quảng Ngãi"), else `default` as given."""
    code = stored_province(session)
    return profile_of(code).province.short if code else default
