"""The Department's province (admin): read it, choose it (the admin pages' first-run form)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import AdminDep, SessionDep, SettingsDep
from api.schemas import ErrorOut
from core.audit import audit
from core.geo.choice import current_profile, set_province, stored_province
from core.geo.profile import ProvinceProfile
from crawlers.catalogue.register import register_province_sources

router = APIRouter(prefix="/api/v1", tags=["admin"], responses={400: {"model": ErrorOut}})


class ProvinceIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description='Ví dụ "Quảng Ngãi", "Kon Tum"')


class ProvinceOut(BaseModel):
    code: str | None = Field(description="Mã tỉnh (Tổng cục Thống kê); null khi chưa chọn")
    name: str | None = None
    communes: int = 0
    former_provinces: list[str] = []
    former_districts: int = 0
    neighbours: list[str] = []
    chosen_by: Literal["admin", "DIEMTIN_PROVINCE"] | None = None


def province_out(profile: ProvinceProfile | None, chosen: bool) -> ProvinceOut:
    """What the API and the admin index show of the province profile."""
    if profile is None:
        return ProvinceOut(code=None)
    return ProvinceOut(
        code=profile.province.code,
        name=profile.province.name,
        communes=len(profile.communes),
        former_provinces=[f.name for f in profile.former_provinces],
        former_districts=len(profile.former_districts),
        neighbours=[n.name for n in profile.neighbours],
        chosen_by="admin" if chosen else "DIEMTIN_PROVINCE",
    )


@router.get("/province")
def get_province(session: SessionDep, settings: SettingsDep, _: AdminDep) -> ProvinceOut:
    """The province the Department serves and what its profile loaded."""
    chosen = stored_province(session) is not None
    return province_out(current_profile(session, settings.province), chosen)


@router.put("/province")
def put_province(
    data: ProvinceIn, session: SessionDep, settings: SettingsDep, who: AdminDep
) -> ProvinceOut:
    """Choose the province by any of its names (pre-2025 ones too); its press and the national
    education press from the catalogue become sources (those already there are kept)."""
    try:
        profile = set_province(session, data.name)
    except LookupError as exc:
        message = str(exc)
        raise HTTPException(400, message[:1].upper() + message[1:]) from None
    audit(session, who, "province.set", "app_settings", "province",
          {"code": profile.province.code})  # fmt: skip
    session.commit()
    # Homepages are not fetched here (a request must not wait on outlets' sites): an outlet
    # without a known feed reads its homepage until `diemtin province set` looks at it.
    register_province_sources(session, profile.province.code, settings=settings, look=False)
    return province_out(profile, True)
