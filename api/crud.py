"""The admin API's list/create/read/update/delete routes, generated once from an entity spec.

Each entity's writes live with its owner (rules and facts in alerts.detection, units in
alerts.units, subscriptions in alerts.notify, sources in crawlers, users in api); this
module only gives them the same shape over HTTP: cursor pages, 201 on create, 204 on
delete, 400/404 with the service's Vietnamese message and nothing written on error."""

# No `from __future__ import annotations` here: the endpoints are built at run time and
# FastAPI reads their parameter types from the signature objects made below.

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.admin_schemas import Page
from api.deps import RowId, SessionDep, SettingsDep
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, page_by_id, split_page
from core.rows import NotFound, get_row

Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor của trang trước")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
_KW = inspect.Parameter.KEYWORD_ONLY
# Route names as the hand-written routes had them (OpenAPI operation ids stay the same).
_VERBS = {"create": "add", "get": "get", "update": "edit", "delete": "remove"}


@contextmanager
def service_errors(session: Session) -> Iterator[None]:
    """Bad input -> 400, missing row -> 404, with the service's Vietnamese message."""
    try:
        yield
    except NotFound as exc:
        session.rollback()
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        session.rollback()
        raise HTTPException(400, str(exc)) from None


@dataclass(frozen=True)
class Entity:
    """One admin entity: its URL, row and schemas, who reads and writes it, its services.

    Services: `create(session, actor=, data=)`, `update(session, row, actor=, data=)`,
    `delete(session, row, actor=)`; with `settings`, create and update also get `settings=`.
    `docs` holds each route's description by operation (list, create, get, update, delete)."""

    noun: str  # route names: list_{noun}s, add_{noun}, get_{noun}, edit_{noun}, remove_{noun}
    path: str
    model: type[Any]
    what: str  # the row's name in "Không tìm thấy {what} #{id}."
    out: type[BaseModel]
    reader: Any
    writer: Any
    create_in: type[BaseModel]
    create: Callable[..., Any]
    update_in: type[BaseModel]
    update: Callable[..., Any]
    update_method: str = "PUT"
    delete: Callable[..., Any] | None = None
    docs: dict[str, str] = field(default_factory=dict)
    settings: bool = False  # its writes check URLs against the settings (sources)
    get_one: bool = False


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
    return inspect.Parameter(name, _KW, annotation=annotation, default=default)


def _route(
    router: APIRouter,
    entity: Entity,
    op: str,
    method: str,
    call: Callable[..., Any],
    params: list[inspect.Parameter],
    **route: Any,
) -> None:
    """Register `call` as the entity's `op` route, named as the hand-written routes were."""
    name = f"list_{entity.noun}s" if op == "list" else f"{_VERBS[op]}_{entity.noun}"
    call.__name__ = name
    call.__doc__ = entity.docs.get(op)
    call.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    path = entity.path if op in ("list", "create") else f"{entity.path}/{{{entity.noun}_id}}"
    router.add_api_route(path, call, methods=[method], name=name, **route)


def register(router: APIRouter, entity: Entity) -> None:
    """Add the entity's routes to `router`."""
    model, row_id = entity.model, f"{entity.noun}_id"
    session_p, writer_p = _param("session", SessionDep), _param("who", entity.writer)
    settings_p = [_param("settings", SettingsDep)] if entity.settings else []

    def extra(kw: dict[str, Any]) -> dict[str, Any]:
        return {"settings": kw["settings"]} if entity.settings else {}

    def list_rows(session: Session, cursor: str | None, limit: int, **_: Any) -> Any:
        rows = session.scalars(page_by_id(select(model), model.id, cursor, limit)).all()
        items, nxt = split_page(rows, limit, key=lambda r: r.id)
        return {"items": [entity.out.model_validate(r) for r in items], "next_cursor": nxt}

    list_params = [
        session_p,
        _param("_", entity.reader),
        _param("cursor", Cursor, None),
        _param("limit", Limit, DEFAULT_LIMIT),
    ]
    _route(router, entity, "list", "GET", list_rows, list_params, response_model=Page[entity.out])

    def create(session: Session, who: Any, data: BaseModel, **kw: Any) -> Any:
        with service_errors(session):
            return entity.create(session, actor=who, data=data, **extra(kw))

    create_params = [_param("data", entity.create_in), session_p, *settings_p, writer_p]
    _route(
        router, entity, "create", "POST", create, create_params,
        response_model=entity.out, status_code=201,
    )  # fmt: skip

    id_p = _param(row_id, RowId)
    if entity.get_one:

        def get_one(session: Session, **kw: Any) -> Any:
            with service_errors(session):
                return get_row(session, model, kw[row_id], entity.what)

        get_params = [id_p, session_p, _param("_", entity.reader)]
        _route(router, entity, "get", "GET", get_one, get_params, response_model=entity.out)

    def update(session: Session, who: Any, data: BaseModel, **kw: Any) -> Any:
        with service_errors(session):
            row = get_row(session, model, kw[row_id], entity.what)
            return entity.update(session, row, actor=who, data=data, **extra(kw))

    update_params = [id_p, _param("data", entity.update_in), session_p, *settings_p, writer_p]
    method = entity.update_method
    _route(router, entity, "update", method, update, update_params, response_model=entity.out)

    if entity.delete is not None:
        remove = entity.delete

        def delete(session: Session, who: Any, **kw: Any) -> None:
            with service_errors(session):
                remove(session, get_row(session, model, kw[row_id], entity.what), actor=who)

        delete_params = [id_p, session_p, writer_p]
        _route(router, entity, "delete", "DELETE", delete, delete_params, status_code=204)
