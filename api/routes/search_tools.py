"""What the search page does with a search: export it as CSV, save it as an alert rule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from alerts.detection.rule_service import RuleFilters, RuleIn, create_rule
from api.deps import Principal, ReaderDep, SearchDep, SessionDep, SettingsDep, require_roles
from api.schemas import ErrorOut
from api.search_params import SearchParams
from api.tabular import csv_bytes
from api.templating import TEMPLATES
from core.models import Role
from core.search import QuerySyntaxError
from core.search.base import MAX_PAGE_SIZE, MAX_RESULT_WINDOW
from core.taxonomy import RISK_NAMES, SENTIMENT_NAMES, TOPIC_NAMES

router = APIRouter()
CSV_HEADER = [
    "Tiêu đề",
    "Nguồn",
    "Thời gian đăng",
    "Chủ đề",
    "Sắc thái",
    "Mức độ",
    "Đường dẫn",
    "Mã tài liệu",
]


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


@router.get(
    "/api/v1/search/export.csv",
    tags=["search"],
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM"},
        400: {"model": ErrorOut},
    },
)
def export_csv(
    params: Annotated[SearchParams, Depends()],
    backend: SearchDep,
    settings: SettingsDep,
    session: SessionDep,
    principal: ReaderDep,
) -> Response:
    """All matches of a search (up to 10,000, newest first) as CSV that Excel opens in Vietnamese.

    Cells that a spreadsheet would run as a formula (= + - @) get a leading apostrophe."""
    params.scope_to(principal)  # unit focal points export only their unit's coverage
    params.sort, params.facets, params.histogram, params.size = "time", False, "none", MAX_PAGE_SIZE
    tz = ZoneInfo(settings.timezone)
    rows = []
    # Built once: the scope filter's sources are read from the database, not once per page.
    query = params.to_query(settings.timezone, session)
    query.highlight = False
    for page in range(1, MAX_RESULT_WINDOW // MAX_PAGE_SIZE + 1):
        query.page = page
        try:
            result = backend.search(query)
        except QuerySyntaxError as exc:
            raise HTTPException(400, str(exc)) from None
        for hit in result.hits:
            rows.append(
                [
                    hit.title,
                    hit.source_name,
                    _local(hit.published_at, tz),
                    "; ".join(TOPIC_NAMES.get(t, t) for t in hit.topics),
                    SENTIMENT_NAMES.get(hit.sentiment or "", hit.sentiment or ""),
                    RISK_NAMES.get(hit.risk or "", hit.risk or ""),
                    hit.url or "",
                    hit.id,
                ]
            )
        if page * MAX_PAGE_SIZE >= result.total:
            break
    return Response(
        csv_bytes(CSV_HEADER, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tim-kiem.csv"'},
    )


RuleWriter = Annotated[Principal, Depends(require_roles(Role.admin, Role.press_officer))]


@router.post("/luu-tim-kiem", response_class=HTMLResponse, include_in_schema=False)
def save_search_as_rule(
    request: Request,
    session: SessionDep,
    principal: RuleWriter,
    name: Annotated[str, Form(max_length=200)],
    q: Annotated[str, Form(max_length=1000)] = "",
    severity: Annotated[str, Form()] = "medium",
    notify: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    source: Annotated[list[int], Form()] = [],  # noqa: B006
    scope: Annotated[list[str], Form()] = [],  # noqa: B006
    topic: Annotated[list[str], Form()] = [],  # noqa: B006
    sentiment: Annotated[list[str], Form()] = [],  # noqa: B006
    risk: Annotated[list[str], Form()] = [],  # noqa: B006
    unit: Annotated[list[int], Form()] = [],  # noqa: B006
) -> Response:
    """The search page's "save as alert rule" form: create the rule, go back to the search."""
    back = [("q", q)] + [
        (k, str(v))
        for k, values in (
            ("source", source),
            ("scope", scope),
            ("topic", topic),
            ("sentiment", sentiment),
            ("risk", risk),
            ("unit", unit),
        )
        for v in values
    ]
    try:
        data = RuleIn(
            name=name,
            query=q,
            severity=severity,  # type: ignore[arg-type]
            notify=notify,  # type: ignore[arg-type]
            filters=RuleFilters(
                topics=topic,
                sentiments=sentiment,
                risks=risk,
                sources=source,
                scopes=scope,  # type: ignore[arg-type]
                units=unit,
            ),
        )
        rule = create_rule(session, actor=principal, data=data, origin="search_page")
    except (ValidationError, ValueError) as exc:
        session.rollback()
        message = str(exc)
        if isinstance(exc, ValidationError):
            message = "Dữ liệu không hợp lệ: " + "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
        return TEMPLATES.TemplateResponse(
            request,
            "error.html",
            {"message": message, "back": "/?" + urlencode(back)},
            status_code=400,
        )
    return RedirectResponse("/?" + urlencode([*back, ("luu", rule.id)]), status_code=303)
