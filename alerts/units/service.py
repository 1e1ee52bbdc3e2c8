"""Units of the registry written one at a time by the admin (files: alerts.units.importer)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from alerts.units.types import UNIT_TYPES
from core.audit import Actor, commit_audited, submitted
from core.geo.data import admin_map
from core.models import Unit

# What the API docs show as an example.
UNIT_EXAMPLE: dict[str, Any] = {
    "name": "Phòng GDĐT Hải Châu",
    "type": "phong_gddt",
    "district": "Hải Châu",
    "aliases": ["PGD Hải Châu"],
    "focal_email": "vanthu@haichau.edu.vn",
}


def _known_type(value: str) -> str:
    if value.strip() not in UNIT_TYPES:
        raise ValueError(f"Loại đơn vị phải là một trong: {', '.join(UNIT_TYPES)}.")
    return value.strip()


# On the annotation, not a validator of the model: UnitOut reads back rows stored before a
# type was checked and redefines the field without it.
UnitType = Annotated[str, AfterValidator(_known_type)]


class UnitIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [UNIT_EXAMPLE]})
    name: str = Field(min_length=1, max_length=300)
    # A code of alerts.units.types (the admin form's choices, the import's).
    type: UnitType = Field(default="truong", json_schema_extra={"enum": list(UNIT_TYPES)})
    district: str | None = Field(default=None, max_length=200)
    # 2025 codes (core.geo.data); an import fills them from the old district and commune.
    province: str | None = Field(default=None, max_length=10)
    commune: str | None = Field(default=None, max_length=10)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    focal_email: str | None = Field(default=None, max_length=300)
    active: bool = True

    @model_validator(mode="after")
    def _known_place(self) -> UnitIn:
        amap = admin_map()
        # Assigned only when changed: an assignment marks the field as sent (fields_set),
        # and update_unit keeps the place of a unit when the client did not send it.
        for name in ("province", "commune"):
            value = (getattr(self, name) or "").strip() or None
            if value != getattr(self, name):
                setattr(self, name, value)
        if self.province is not None and self.province not in amap.provinces:
            raise ValueError(f"Không có tỉnh/thành mã «{self.province}» trên bản đồ 2025.")
        if self.commune is not None:
            commune = amap.communes.get(self.commune)
            if commune is None:
                raise ValueError(f"Không có xã/phường mã «{self.commune}» trên bản đồ 2025.")
            if self.province not in (None, commune.province):
                raise ValueError(f"{commune.name} không thuộc tỉnh/thành đã chọn.")
            if self.province != commune.province:
                self.province = commune.province
        return self


def _unit_values(data: UnitIn) -> dict[str, Any]:
    aliases = [a.strip() for a in data.aliases if a.strip()]
    values = {
        "name": data.name.strip(),
        "type": data.type.strip(),
        "district": (data.district or "").strip() or None,
        "province": data.province,
        "commune": data.commune,
        "aliases": list(dict.fromkeys(aliases)),
        "focal_email": (data.focal_email or "").strip() or None,
        "active": data.active,
    }
    if not values["name"]:
        raise ValueError("Vui lòng nhập tên đơn vị.")
    return values


def create_unit(session: Session, *, actor: Actor, data: UnitIn) -> Unit:
    """Add a unit to the registry."""
    return commit_audited(
        session, actor, "unit.create", Unit(**_unit_values(data)), submitted(data)
    )


def update_unit(session: Session, unit: Unit, *, actor: Actor, data: UnitIn) -> Unit:
    """Edit a unit."""
    values = _unit_values(data)
    # What the client did not send is kept (the admin form sends the commune only; a
    # commune sets its province).
    for key in ("province", "commune"):
        if key not in data.model_fields_set and not (key == "province" and data.commune):
            del values[key]
    for key, value in values.items():
        setattr(unit, key, value)
    return commit_audited(session, actor, "unit.update", unit, submitted(data))
