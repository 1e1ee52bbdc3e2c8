"""Admin pages (/quan-tri/...): lists with create and edit forms that call the JSON API.

One generic page per entity: api/admin_specs.py declares its columns and form fields; the
template renders them and api/static/admin.js sends the form as JSON with the CSRF header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from alerts.units.importer import import_units
from api.admin_specs import entity_pages, row_values
from api.deps import Principal, SessionDep, SettingsDep, require_roles
from api.pagination import page_by_id, split_page
from api.routes.admin_api import read_import
from api.routes.province_api import get_province
from api.templating import TEMPLATES
from core.geo.choice import province_code
from core.geo.data import admin_map
from core.models import Role, Unit, User

router = APIRouter(include_in_schema=False)
AdminDep = Annotated[Principal, Depends(require_roles(Role.admin))]
PAGE_SIZE = 100


@router.get("/quan-tri", response_class=HTMLResponse)
def admin_home(
    request: Request, session: SessionDep, settings: SettingsDep, _: AdminDep
) -> HTMLResponse:
    """The admin index: one link per entity with its row count; the province profile, or
    the first-run form that chooses it."""
    pages = entity_pages(session)
    counts = {
        slug: session.scalar(select(func.count()).select_from(p.model)) for slug, p in pages.items()
    }
    province = get_province(session, settings, _)
    choices = sorted(p.name for p in admin_map().provinces.values())
    return TEMPLATES.TemplateResponse(
        request,
        "admin/index.html",
        {"pages": pages, "counts": counts, "province": province, "province_choices": choices},
    )


def render_entity(
    request: Request,
    session: Any,
    slug: str,
    cursor: str | None,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    """One admin page: its rows (cursor-paged), a create form and an edit form per row."""
    page = entity_pages(session).get(slug)
    if page is None:
        raise HTTPException(404, "Không có trang quản trị này.")
    rows = session.scalars(page_by_id(select(page.model), page.model.id, cursor, PAGE_SIZE)).all()
    items, nxt = split_page(rows, PAGE_SIZE, key=lambda r: r.id)
    names = {
        "unit": dict(session.execute(select(Unit.id, Unit.name)).tuples().all()),
        "user": dict(session.execute(select(User.id, User.username)).tuples().all()),
    }
    context = {
        "page": page,
        "rows": [(r.id, page.row_cells(r, names), row_values(page, r)) for r in items],
        "next_cursor": nxt,
        **(extra or {}),
    }
    status = 400 if extra and extra.get("import_error") else 200
    return TEMPLATES.TemplateResponse(request, "admin/entity.html", context, status_code=status)


@router.get("/quan-tri/{slug}", response_class=HTMLResponse)
def admin_entity(
    request: Request, slug: str, session: SessionDep, _: AdminDep, cursor: str | None = None
) -> HTMLResponse:
    """Sources, rules, units, fact bank, users or subscriptions."""
    return render_entity(request, session, slug, cursor)


@router.post("/quan-tri/don-vi/nhap", response_class=HTMLResponse)
def admin_import_units(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: AdminDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """The unit import form: import, then show the per-row report on the units page."""
    try:
        data = read_import(file)
        report = import_units(
            session,
            filename=file.filename or "",
            data=data,
            actor=who,
            home_province=province_code(session, settings.province),
        )
    except ValueError as exc:
        session.rollback()
        return render_entity(request, session, "don-vi", None, {"import_error": str(exc)})
    return render_entity(request, session, "don-vi", None, {"import_report": report})
