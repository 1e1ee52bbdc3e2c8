"""Units of the registry written one at a time by the admin (files: alerts.units.importer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from core.audit import Actor, commit_audited, submitted
from core.models import Unit

# What the API docs show as an example.
UNIT_EXAMPLE: dict[str, Any] = {
    "name": "Phòng GDĐT Hải Châu",
    "type": "phong_gddt",
    "district": "Hải Châu",
    "aliases": ["PGD Hải Châu"],
    "focal_email": "vanthu@haichau.edu.vn",
}


class UnitIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [UNIT_EXAMPLE]})
    name: str = Field(min_length=1, max_length=300)
    # The keys of api.report_export.UNIT_TYPES (the admin form's choices, the import's).
    type: Literal["so", "phong_gddt", "truong", "khac"] = "truong"
    district: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    focal_email: str | None = Field(default=None, max_length=300)
    active: bool = True


def _unit_values(data: UnitIn) -> dict[str, Any]:
    aliases = [a.strip() for a in data.aliases if a.strip()]
    values = {
        "name": data.name.strip(),
        "type": data.type.strip(),
        "district": (data.district or "").strip() or None,
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
    for key, value in _unit_values(data).items():
        setattr(unit, key, value)
    return commit_audited(session, actor, "unit.update", unit, submitted(data))
