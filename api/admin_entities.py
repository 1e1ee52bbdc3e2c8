"""The admin entities: URL, row, schemas, who reads and writes, and the owner's services.

api.routes.admin_api generates their JSON routes from these (api.crud); the admin pages
(api.admin_specs) take their URL, edit method and row model from the same specs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from alerts.detection.fact_service import FactIn, create_fact, delete_fact, update_fact
from alerts.detection.rule_service import RuleIn, create_rule, delete_rule, update_rule
from alerts.notify.subscriptions import (
    SubscriptionIn,
    create_subscription,
    delete_subscription,
    update_subscription,
)
from alerts.units.service import UnitIn, create_unit, update_unit
from api import admin_service as svc
from api.admin_schemas import (
    FactOut,
    RuleOut,
    SourceOut,
    SubscriptionOut,
    UnitOut,
    UserIn,
    UserOut,
    UserUpdate,
)
from api.crud import Entity
from api.deps import Principal, require_roles
from core.models import Fact, Role, Rule, Source, Subscription, Unit, User
from crawlers.source_service import SourceIn, SourceUpdate, create_source, update_source

AdminDep = Annotated[Principal, Depends(require_roles(Role.admin))]
# Press officers save searches as rules from the search page; leadership only reads.
RuleWriterDep = Annotated[Principal, Depends(require_roles(Role.admin, Role.press_officer))]
RuleReaderDep = Annotated[
    Principal, Depends(require_roles(Role.admin, Role.press_officer, Role.leadership))
]

# By noun (Entity.noun).
_ENTITIES = [
    Entity(
        "source", "/admin/sources", Source, "nguồn tin", SourceOut, AdminDep, AdminDep,
        SourceIn, create_source, SourceUpdate, update_source, "PATCH", settings=True,
        docs={
            "list": "Sources with health, consecutive failures and the last error.",
            "create": "Add a source (URL checked as by `diemtin source add`).",
            "update": "Edit, disable (enabled=false) or re-enable a source.",
        },
    ),
    Entity(
        "rule", "/rules", Rule, "quy tắc", RuleOut, RuleReaderDep, RuleWriterDep,
        RuleIn, create_rule, RuleIn, update_rule, delete=delete_rule, get_one=True,
        docs={
            "list": "Alert rules (saved searches).",
            "create": "Save a search as an alert rule; the query is checked with the search "
            "syntax.",
            "get": "One rule.",
            "update": "Replace a rule.",
            "delete": "Delete a rule (admin or press officer, who write rules).",
        },
    ),
    Entity(
        "unit", "/admin/units", Unit, "đơn vị", UnitOut, AdminDep, AdminDep,
        UnitIn, create_unit, UnitIn, update_unit,
        docs={"list": "The unit registry.", "create": "Add a unit.", "update": "Edit a unit."},
    ),
    Entity(
        "fact", "/admin/facts", Fact, "thông tin", FactOut, AdminDep, AdminDep,
        FactIn, create_fact, FactIn, update_fact, delete=delete_fact,
        docs={
            "list": "Verified statements and refuted claims.",
            "create": "Add a fact-bank entry.",
            "update": "Edit a fact-bank entry.",
            "delete": "Delete a fact-bank entry.",
        },
    ),
    Entity(
        "user", "/admin/users", User, "người dùng", UserOut, AdminDep, AdminDep,
        UserIn, svc.create_user, UserUpdate, svc.update_user, "PATCH",
        docs={
            "list": "Users with their role and unit.",
            "create": "Create a user.",
            "update": "Change role, unit, details, password; active=false deactivates.",
        },
    ),
    Entity(
        "subscription", "/admin/subscriptions", Subscription, "đăng ký nhận tin",
        SubscriptionOut, AdminDep, AdminDep, SubscriptionIn, create_subscription,
        SubscriptionIn, update_subscription, delete=delete_subscription,
        docs={
            "list": "Digest and alert subscriptions.",
            "create": "Add a subscription.",
            "update": "Replace a subscription.",
            "delete": "Delete a subscription.",
        },
    ),
]  # fmt: skip
ENTITIES = {e.noun: e for e in _ENTITIES}
