"""The admin JSON API: sources, rules, units (with import), fact bank, users, subscriptions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import admin_service as svc
from api.admin_schemas import (
    MAX_ID,
    FactIn,
    FactOut,
    Page,
    RuleIn,
    RuleOut,
    SourceIn,
    SourceOut,
    SourceUpdate,
    SubscriptionIn,
    SubscriptionOut,
    UnitIn,
    UnitOut,
    UserIn,
    UserOut,
    UserUpdate,
)
from api.deps import Principal, SessionDep, SettingsDep, require_roles
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_by_id, split_page
from api.schemas import ErrorOut
from core.models import Fact, Role, Rule, Source, Subscription, Unit, User

AdminDep = Annotated[Principal, Depends(require_roles(Role.admin))]
# Press officers save searches as rules from the search page; leadership only reads.
RuleWriterDep = Annotated[Principal, Depends(require_roles(Role.admin, Role.press_officer))]
RuleReaderDep = Annotated[
    Principal, Depends(require_roles(Role.admin, Role.press_officer, Role.leadership))
]
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="Mã số")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor của trang trước")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
}
MAX_IMPORT_BYTES = 5 * 1024 * 1024

router = APIRouter(prefix="/api/v1", tags=["admin"], responses=ERRORS)


@contextmanager
def service_errors(session: Session) -> Iterator[None]:
    """Bad input -> 400, missing row -> 404, with the service's Vietnamese message."""
    try:
        yield
    except svc.NotFound as exc:
        session.rollback()
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        session.rollback()
        raise HTTPException(400, str(exc)) from None


def _page(session: Session, model: Any, out: Any, cursor: str | None, limit: int) -> Any:
    rows = session.scalars(page_by_id(select(model), model.id, cursor, limit)).all()
    items, nxt = split_page(rows, limit, key=lambda r: r.id)
    return {"items": [out.model_validate(r) for r in items], "next_cursor": nxt}


# Sources


@router.get("/admin/sources", response_model=Page[SourceOut])
def list_sources(
    session: SessionDep, _: AdminDep, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Any:
    """Sources with health, consecutive failures and the last error."""
    return _page(session, Source, SourceOut, cursor, limit)


@router.post("/admin/sources", response_model=SourceOut, status_code=201)
def add_source(data: SourceIn, session: SessionDep, settings: SettingsDep, who: AdminDep) -> Any:
    """Add a source (URL checked as by `diemtin source add`)."""
    with service_errors(session):
        return svc.create_source(session, principal=who, data=data, settings=settings)


@router.patch("/admin/sources/{source_id}", response_model=SourceOut)
def edit_source(
    source_id: RowId, data: SourceUpdate, session: SessionDep, settings: SettingsDep, who: AdminDep
) -> Any:
    """Edit, disable (enabled=false) or re-enable a source."""
    with service_errors(session):
        return svc.update_source(
            session, principal=who, source_id=source_id, data=data, settings=settings
        )


# Rules


@router.get("/rules", response_model=Page[RuleOut])
def list_rules(
    session: SessionDep, _: RuleReaderDep, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Any:
    """Alert rules (saved searches)."""
    return _page(session, Rule, RuleOut, cursor, limit)


@router.post("/rules", response_model=RuleOut, status_code=201)
def add_rule(data: RuleIn, session: SessionDep, who: RuleWriterDep) -> Any:
    """Save a search as an alert rule; the query is checked with the search syntax."""
    with service_errors(session):
        return svc.create_rule(session, principal=who, data=data)


@router.get("/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: RowId, session: SessionDep, _: RuleReaderDep) -> Any:
    """One rule."""
    with service_errors(session):
        return svc._get(session, Rule, rule_id, "quy tắc")


@router.put("/rules/{rule_id}", response_model=RuleOut)
def edit_rule(rule_id: RowId, data: RuleIn, session: SessionDep, who: RuleWriterDep) -> Any:
    """Replace a rule."""
    with service_errors(session):
        return svc.update_rule(session, principal=who, rule_id=rule_id, data=data)


@router.delete("/rules/{rule_id}", status_code=204)
def remove_rule(rule_id: RowId, session: SessionDep, who: RuleWriterDep) -> None:
    """Delete a rule (admin or press officer, who write rules)."""
    with service_errors(session):
        svc.delete_rule(session, principal=who, rule_id=rule_id)


# Units


@router.get("/admin/units", response_model=Page[UnitOut])
def list_units(
    session: SessionDep, _: AdminDep, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Any:
    """The unit registry."""
    return _page(session, Unit, UnitOut, cursor, limit)


@router.post("/admin/units", response_model=UnitOut, status_code=201)
def add_unit(data: UnitIn, session: SessionDep, who: AdminDep) -> Any:
    """Add a unit."""
    with service_errors(session):
        return svc.create_unit(session, principal=who, data=data)


@router.put("/admin/units/{unit_id}", response_model=UnitOut)
def edit_unit(unit_id: RowId, data: UnitIn, session: SessionDep, who: AdminDep) -> Any:
    """Edit a unit."""
    with service_errors(session):
        return svc.update_unit(session, principal=who, unit_id=unit_id, data=data)


@router.post("/admin/units/import")
def import_units_file(
    file: Annotated[UploadFile, File(description="CSV hoặc XLSX: name, type, district, aliases")],
    session: SessionDep,
    who: AdminDep,
) -> dict[str, Any]:
    """Import units from CSV/XLSX; bad rows are reported, good rows kept; re-import is a no-op."""
    from alerts.units.importer import import_units

    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(400, "Tệp quá lớn (tối đa 5 MB).")
    with service_errors(session):
        report = import_units(session, filename=file.filename or "", data=data, actor=who)
    return report.as_dict()


# Fact bank


@router.get("/admin/facts", response_model=Page[FactOut])
def list_facts(
    session: SessionDep, _: AdminDep, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Any:
    """Verified statements and refuted claims."""
    return _page(session, Fact, FactOut, cursor, limit)


@router.post("/admin/facts", response_model=FactOut, status_code=201)
def add_fact(data: FactIn, session: SessionDep, who: AdminDep) -> Any:
    """Add a fact-bank entry."""
    with service_errors(session):
        return svc.create_fact(session, principal=who, data=data)


@router.put("/admin/facts/{fact_id}", response_model=FactOut)
def edit_fact(fact_id: RowId, data: FactIn, session: SessionDep, who: AdminDep) -> Any:
    """Edit a fact-bank entry."""
    with service_errors(session):
        return svc.update_fact(session, principal=who, fact_id=fact_id, data=data)


@router.delete("/admin/facts/{fact_id}", status_code=204)
def remove_fact(fact_id: RowId, session: SessionDep, who: AdminDep) -> None:
    """Delete a fact-bank entry."""
    with service_errors(session):
        svc.delete_fact(session, principal=who, fact_id=fact_id)


# Users


@router.get("/admin/users", response_model=Page[UserOut])
def list_users(
    session: SessionDep, _: AdminDep, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Any:
    """Users with their role and unit."""
    return _page(session, User, UserOut, cursor, limit)


@router.post("/admin/users", response_model=UserOut, status_code=201)
def add_user(data: UserIn, session: SessionDep, who: AdminDep) -> Any:
    """Create a user."""
    with service_errors(session):
        return svc.create_user(session, principal=who, data=data)


@router.patch("/admin/users/{user_id}", response_model=UserOut)
def edit_user(user_id: RowId, data: UserUpdate, session: SessionDep, who: AdminDep) -> Any:
    """Change role, unit, details, password; active=false deactivates."""
    with service_errors(session):
        return svc.update_user(session, principal=who, user_id=user_id, data=data)


# Subscriptions


@router.get("/admin/subscriptions", response_model=Page[SubscriptionOut])
def list_subscriptions(
    session: SessionDep, _: AdminDep, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Any:
    """Digest and alert subscriptions."""
    return _page(session, Subscription, SubscriptionOut, cursor, limit)


@router.post("/admin/subscriptions", response_model=SubscriptionOut, status_code=201)
def add_subscription(data: SubscriptionIn, session: SessionDep, who: AdminDep) -> Any:
    """Add a subscription."""
    with service_errors(session):
        return svc.create_subscription(session, principal=who, data=data)


@router.put("/admin/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def edit_subscription(
    subscription_id: RowId, data: SubscriptionIn, session: SessionDep, who: AdminDep
) -> Any:
    """Replace a subscription."""
    with service_errors(session):
        return svc.update_subscription(
            session, principal=who, subscription_id=subscription_id, data=data
        )


@router.delete("/admin/subscriptions/{subscription_id}", status_code=204)
def remove_subscription(subscription_id: RowId, session: SessionDep, who: AdminDep) -> None:
    """Delete a subscription."""
    with service_errors(session):
        svc.delete_subscription(session, principal=who, subscription_id=subscription_id)
