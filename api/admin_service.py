"""Admin writes (sources, rules, units, facts, users, subscriptions) as small service functions.

Every write goes through one of these so the audit call has one place to live: each writes
its AuditLog row in the same commit as the change. Errors are ValueError (bad input, message
in Vietnamese) or NotFound; nothing is written on error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from api.admin_schemas import (
    FactIn,
    RuleIn,
    SourceIn,
    SourceUpdate,
    SubscriptionIn,
    UnitIn,
    UserIn,
    UserUpdate,
)
from api.auth import end_credentials
from api.deps import Principal
from core import taxonomy
from core.audit import audit
from core.models import Alert, Fact, Role, Rule, Source, Subscription, Unit, User, utcnow
from core.search.query import parse
from core.security import hash_password
from core.settings import Settings
from crawlers.source_config import public_config
from crawlers.sources import add_source, edit_source


class NotFound(LookupError):
    """The row does not exist; the message is shown to the user."""


def _get(session: Session, model: type[Any], row_id: int, what: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"Không tìm thấy {what} #{row_id}.")
    return row


@contextmanager
def audit_new_rows(
    session: Session, principal: Principal, action: str, model: type[Any], data: dict[str, Any]
) -> Iterator[None]:
    """Audit each `model` row that code inside creates and commits itself, in that commit."""

    # add_source (crawlers/) commits on its own; hooking its commit keeps the change and
    # its audit row in one transaction without reaching into that module.
    def record(sess: Session) -> None:
        for row in [r for r in sess.new if isinstance(r, model)]:
            sess.flush()
            audit(sess, principal, action, action.split(".")[0], row.id, data)

    event.listen(session, "before_commit", record)
    try:
        yield
    finally:
        event.remove(session, "before_commit", record)


def _changes(data: Any, **extra: Any) -> dict[str, Any]:
    """The submitted fields for the audit log, secrets left out."""
    fields = data.model_dump(mode="json", exclude_unset=True)
    if fields.pop("password", None):
        fields["password_changed"] = True
    return {**fields, **extra}


def _source_changes(data: SourceIn | SourceUpdate) -> dict[str, Any]:
    changes = _changes(data)
    if changes.get("config"):
        changes["config"] = public_config(changes["config"])
    return changes


def create_source(
    session: Session, *, principal: Principal, data: SourceIn, settings: Settings
) -> Source:
    """Add a source with the same checks as `diemtin source add`."""
    with audit_new_rows(session, principal, "source.create", Source, _source_changes(data)):
        return add_source(
            session,
            name=data.name,
            url=data.url,
            kind=data.kind,
            poll_interval_s=data.poll_interval_s,
            scope=data.scope,
            config=data.config,
            settings=settings,
        )


def update_source(
    session: Session,
    *,
    principal: Principal,
    source_id: int,
    data: SourceUpdate,
    settings: Settings,
) -> Source:
    """Edit, enable or disable a source, or change its config (as `diemtin source edit`)."""
    source: Source = _get(session, Source, source_id, "nguồn tin")
    edit_source(
        session,
        source,
        settings=settings,
        name=data.name,
        url=data.url,
        scope=data.scope,
        poll_interval_s=data.poll_interval_s,
        enabled=data.enabled,
        config=data.config,
    )
    audit(session, principal, "source.update", "source", source.id, _source_changes(data))
    session.commit()
    return source


def check_rule(data: RuleIn, session: Session) -> None:
    """ValueError when the query does not parse or a filter value is unknown."""
    if not data.query.strip() and not any(
        getattr(data.filters, f) for f in ("topics", "sentiments", "risks", "sources", "units")
    ):
        raise ValueError("Quy tắc cần có từ khóa hoặc ít nhất một bộ lọc.")
    parse(data.query)  # QuerySyntaxError is a ValueError with a Vietnamese message
    f = data.filters
    for values, allowed, what in (
        (f.topics, taxonomy.TOPICS, "chủ đề"),
        (f.sentiments, taxonomy.SENTIMENTS, "sắc thái"),
        (f.risks, taxonomy.RISKS, "mức độ"),
    ):
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"Giá trị {what} không hợp lệ: {', '.join(bad)}.")
    for ids, model, what in ((f.sources, Source, "nguồn tin"), (f.units, Unit, "đơn vị")):
        if ids:
            found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
            missing = sorted(set(ids) - found)
            if missing:
                raise ValueError(f"Không có {what} mã số {', '.join(map(str, missing))}.")


def _rule_values(data: RuleIn) -> dict[str, Any]:
    filters = {k: v for k, v in data.filters.model_dump().items() if v}
    return {
        "name": data.name.strip(),
        "query": data.query.strip(),
        "filters": filters,
        "severity": data.severity,
        "notify": list(data.notify),
        "enabled": data.enabled,
    }


def create_rule(
    session: Session, *, principal: Principal, data: RuleIn, origin: str = "api"
) -> Rule:
    """Save a search as an alert rule (query checked with the search parser)."""
    check_rule(data, session)
    rule = Rule(**_rule_values(data), created_by=principal.user_id)
    session.add(rule)
    session.flush()
    audit(session, principal, "rule.create", "rule", rule.id, _changes(data, origin=origin))
    session.commit()
    return rule


def update_rule(session: Session, *, principal: Principal, rule_id: int, data: RuleIn) -> Rule:
    """Replace a rule's query, filters, severity and channels."""
    rule: Rule = _get(session, Rule, rule_id, "quy tắc")
    check_rule(data, session)
    for key, value in _rule_values(data).items():
        setattr(rule, key, value)
    audit(session, principal, "rule.update", "rule", rule.id, _changes(data))
    session.commit()
    return rule


def delete_rule(session: Session, *, principal: Principal, rule_id: int) -> None:
    """Delete a rule; its past alerts stay (they point at nothing)."""
    rule: Rule = _get(session, Rule, rule_id, "quy tắc")
    for alert in session.scalars(select(Alert).where(Alert.rule_id == rule_id)):
        alert.rule_id = None
    audit(session, principal, "rule.delete", "rule", rule_id, {"name": rule.name})
    session.delete(rule)
    session.commit()


def _unit_values(data: UnitIn) -> dict[str, Any]:
    aliases = [a.strip() for a in data.aliases if a.strip()]
    return {
        "name": data.name.strip(),
        "type": data.type.strip(),
        "district": (data.district or "").strip() or None,
        "aliases": list(dict.fromkeys(aliases)),
        "focal_email": (data.focal_email or "").strip() or None,
        "active": data.active,
    }


def create_unit(session: Session, *, principal: Principal, data: UnitIn) -> Unit:
    """Add a unit to the registry."""
    values = _unit_values(data)
    if not values["name"]:
        raise ValueError("Vui lòng nhập tên đơn vị.")
    unit = Unit(**values)
    session.add(unit)
    session.flush()
    audit(session, principal, "unit.create", "unit", unit.id, _changes(data))
    session.commit()
    return unit


def update_unit(session: Session, *, principal: Principal, unit_id: int, data: UnitIn) -> Unit:
    """Edit a unit."""
    unit: Unit = _get(session, Unit, unit_id, "đơn vị")
    values = _unit_values(data)
    if not values["name"]:
        raise ValueError("Vui lòng nhập tên đơn vị.")
    for key, value in values.items():
        setattr(unit, key, value)
    audit(session, principal, "unit.update", "unit", unit.id, _changes(data))
    session.commit()
    return unit


def _check_url(url: str | None) -> str | None:
    url = (url or "").strip() or None
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError("Đường dẫn nguồn phải bắt đầu bằng http:// hoặc https://.")
    return url


def create_fact(session: Session, *, principal: Principal, data: FactIn) -> Fact:
    """Add a fact-bank entry; its embedding is filled later by the matching code."""
    fact = Fact(
        kind=data.kind,
        statement=data.statement.strip(),
        correction=data.correction.strip(),
        source_url=_check_url(data.source_url),
        active=data.active,
        created_by=principal.user_id,
    )
    if not fact.statement:
        raise ValueError("Vui lòng nhập nội dung thông tin.")
    session.add(fact)
    session.flush()
    audit(session, principal, "fact.create", "fact", fact.id, _changes(data))
    session.commit()
    return fact


def update_fact(session: Session, *, principal: Principal, fact_id: int, data: FactIn) -> Fact:
    """Edit a fact; a changed statement drops the stale embedding."""
    fact: Fact = _get(session, Fact, fact_id, "thông tin")
    statement = data.statement.strip()
    if not statement:
        raise ValueError("Vui lòng nhập nội dung thông tin.")
    if statement != fact.statement:
        fact.embedding, fact.embedding_model = None, None
    fact.kind, fact.statement = data.kind, statement
    fact.correction, fact.source_url = data.correction.strip(), _check_url(data.source_url)
    fact.active, fact.updated_at = data.active, utcnow()
    audit(session, principal, "fact.update", "fact", fact.id, _changes(data))
    session.commit()
    return fact


def delete_fact(session: Session, *, principal: Principal, fact_id: int) -> None:
    """Delete a fact; alerts that cited it keep their text."""
    fact: Fact = _get(session, Fact, fact_id, "thông tin")
    for alert in session.scalars(select(Alert).where(Alert.fact_id == fact_id)):
        alert.fact_id = None
    audit(session, principal, "fact.delete", "fact", fact_id, {"statement": fact.statement})
    session.delete(fact)
    session.commit()


def _check_user_unit(session: Session, role: str, unit_id: int | None) -> None:
    if unit_id is not None:
        _get(session, Unit, unit_id, "đơn vị")
    if role == Role.unit_focal.value and unit_id is None:
        raise ValueError("Đầu mối đơn vị phải gắn với một đơn vị.")


def create_user(session: Session, *, principal: Principal, data: UserIn) -> User:
    """Add a user; the password is hashed with core.security."""
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise ValueError(f"Tên đăng nhập «{data.username}» đã tồn tại.")
    _check_user_unit(session, data.role.value, data.unit_id)
    user = User(
        username=data.username,
        full_name=data.full_name.strip(),
        email=(data.email or "").strip() or None,
        role=data.role.value,
        unit_id=data.unit_id,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    session.flush()
    audit(session, principal, "user.create", "user", user.id, _changes(data))
    session.commit()
    return user


def update_user(session: Session, *, principal: Principal, user_id: int, data: UserUpdate) -> User:
    """Change a user's role, unit, details or password, or deactivate them."""
    user: User = _get(session, User, user_id, "người dùng")
    fields = data.model_dump(exclude_unset=True)
    role = fields["role"].value if fields.get("role") is not None else user.role
    unit_id = fields.get("unit_id", user.unit_id)
    _check_user_unit(session, role, unit_id)
    if user_id == principal.user_id and (fields.get("active") is False or role != user.role):
        raise ValueError("Không thể tự khóa hoặc tự đổi vai trò của chính mình.")
    if fields.get("password"):
        user.password_hash = hash_password(fields["password"])
    if fields.get("password") or (fields.get("active") is False and user.active):
        # Nothing issued under the old password (or before a deactivation) survives it;
        # an admin changing their own password keeps the session they are using.
        own = user_id == principal.user_id and principal.via == "session"
        end_credentials(session, user.id, keep_session=principal.session_id if own else None)
    user.role, user.unit_id = role, unit_id
    for key in ("full_name", "email", "active"):
        if fields.get(key) is not None:
            setattr(user, key, fields[key])
    audit(session, principal, "user.update", "user", user.id, _changes(data))
    session.commit()
    return user


def _subscription_values(session: Session, data: SubscriptionIn) -> dict[str, Any]:
    if data.user_id is not None:
        _get(session, User, data.user_id, "người dùng")
    if data.unit_id is not None:
        _get(session, Unit, data.unit_id, "đơn vị")
    target = data.target.strip()
    if data.channel == "email" and "@" not in target:
        raise ValueError("Địa chỉ email nhận tin không hợp lệ.")
    if data.channel == "webhook" and not target.lower().startswith(("https://", "http://")):
        raise ValueError("Webhook phải là địa chỉ http:// hoặc https://.")
    return {**data.model_dump(), "target": target}


def create_subscription(
    session: Session, *, principal: Principal, data: SubscriptionIn
) -> Subscription:
    """Add a digest or alert subscription."""
    sub = Subscription(**_subscription_values(session, data))
    session.add(sub)
    session.flush()
    audit(session, principal, "subscription.create", "subscription", sub.id, _changes(data))
    session.commit()
    return sub


def update_subscription(
    session: Session, *, principal: Principal, subscription_id: int, data: SubscriptionIn
) -> Subscription:
    """Replace a subscription's settings."""
    sub: Subscription = _get(session, Subscription, subscription_id, "đăng ký nhận tin")
    for key, value in _subscription_values(session, data).items():
        setattr(sub, key, value)
    audit(session, principal, "subscription.update", "subscription", sub.id, _changes(data))
    session.commit()
    return sub


def delete_subscription(session: Session, *, principal: Principal, subscription_id: int) -> None:
    """Remove a subscription."""
    sub = _get(session, Subscription, subscription_id, "đăng ký nhận tin")
    audit(session, principal, "subscription.delete", "subscription", subscription_id)
    session.delete(sub)
    session.commit()
