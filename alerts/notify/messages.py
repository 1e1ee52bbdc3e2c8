"""Rendering notifications with Jinja2: HTML autoescaped, plain text cleaned of control
characters. Every scraped string (titles, outlets, URLs) passes through one of the two."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import taxonomy
from core.models import Alert, Document, Fact, Source, Story, Unit
from core.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Subject prefixes: the inbox of a busy office is sorted by these at a glance.
SUBJECT_PREFIX = {"critical": "[Khẩn] ", "high": "[Quan trọng] ", "medium": "", "low": ""}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: Any) -> str:
    """Text for the plain-text part: no control or bidi-override characters."""
    return _CONTROL.sub("", "" if value is None else str(value))


def one_line(value: Any) -> str:
    """One line of text (titles in subjects and lists)."""
    return " ".join(plain(value).split())


def safe_url(value: Any) -> str:
    """The URL if it is http(s), else empty: a scraped "javascript:" link is never a link."""
    url = one_line(value)
    return url if urlsplit(url).scheme in ("http", "https") else ""


@lru_cache(maxsize=4)
def environment(kind: str) -> Environment:
    """The Jinja environment for "html" (autoescape on) or "text" templates."""
    if kind == "html":
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
        )
    else:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=False,
            undefined=StrictUndefined,
            finalize=plain,
            keep_trailing_newline=True,
        )
    env.filters.update(one_line=one_line, safe_url=safe_url)
    env.globals.update(taxonomy=taxonomy)
    return env


def render(name: str, **context: Any) -> tuple[str, str]:
    """(text, html) of templates <name>.txt and <name>.html."""
    text = environment("text").get_template(f"{name}.txt").render(**context)
    html = environment("html").get_template(f"{name}.html").render(**context)
    return text, html


def local(dt: datetime | None, settings: Settings) -> str:
    """A UTC time as the office reads it: "07:05 23/11/2026"."""
    if dt is None:
        return ""
    return dt.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M %d/%m/%Y")


@dataclass(slots=True)
class DocLine:
    """One article as listed in a message."""

    title: str
    outlet: str
    url: str
    app_url: str
    published: str


@dataclass(slots=True)
class AlertView:
    """What a message says about one alert."""

    id: int
    kind: str
    kind_name: str
    severity: str
    severity_name: str
    status_name: str
    title: str
    url: str
    created: str
    escalated: bool
    unit: str = ""
    doc_count: int = 0
    outlet_count: int = 0
    correction: str = ""
    response: str = ""
    documents: list[DocLine] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The fields a bundle lists, kept in the held row's payload."""
        return {
            "id": self.id, "kind": self.kind, "severity": self.severity, "title": self.title,
            "url": self.url, "created": self.created,
        }  # fmt: skip


def document_lines(session: Session, settings: Settings, doc_ids: list[str]) -> list[DocLine]:
    """Titles, outlets and links of up to five documents, newest first."""
    if not doc_ids:
        return []
    rows = session.execute(
        select(Document, Source.name)
        .join(Source, Source.id == Document.source_id)
        .where(Document.id.in_(doc_ids))
        .order_by(Document.published_at.desc(), Document.id)
        .limit(5)
    ).all()
    base = settings.web.public_url.rstrip("/")
    return [
        DocLine(
            title=one_line(doc.title) or "(không có tiêu đề)",
            outlet=one_line(outlet),
            url=safe_url(doc.url),
            app_url=f"{base}/tai-lieu/{doc.id}",
            published=local(doc.published_at or doc.fetched_at, settings),
        )
        for doc, outlet in rows
    ]


def alert_view(session: Session, settings: Settings, alert: Alert) -> AlertView:
    """Gather what a notification shows about an alert."""
    story = session.get(Story, alert.story_id) if alert.story_id else None
    unit = session.get(Unit, alert.unit_id) if alert.unit_id else None
    fact = session.get(Fact, alert.fact_id) if alert.fact_id else None
    listed = (alert.details or {}).get("documents")
    # Rule and fact-bank cases list their documents; a story's score only counts them.
    doc_ids = [str(d) for d in listed] if isinstance(listed, list) else []
    if not doc_ids and story is not None:
        doc_ids = list(
            session.scalars(select(Document.id).where(Document.story_id == story.id).limit(50))
        )
    return AlertView(
        id=alert.id,
        kind=alert.kind,
        kind_name=taxonomy.KIND_NAMES.get(alert.kind, "Cảnh báo"),
        severity=alert.severity,
        severity_name=taxonomy.SEVERITY_NAMES.get(alert.severity, alert.severity),
        status_name=taxonomy.STATUS_NAMES.get(alert.status, alert.status),
        title=one_line(alert.title or (story.title if story else "")) or "(không có tiêu đề)",
        url=f"{settings.web.public_url.rstrip('/')}/canh-bao/{alert.id}",
        created=local(alert.created_at, settings),
        escalated=alert.escalation_level > 0,
        unit=one_line(unit.name) if unit else "",
        doc_count=story.doc_count if story else len(doc_ids),
        outlet_count=story.outlet_count if story else 0,
        correction=plain(fact.correction) if fact and fact.kind == "refuted" else "",
        response=plain(alert.response or ""),
        documents=document_lines(session, settings, doc_ids),
    )


def alert_subject(view: AlertView) -> str:
    """ "[Khẩn] Tình huống nóng: <title>" (one line, however the title was scraped)."""
    kind = view.kind_name + (" (nâng mức cảnh báo)" if view.escalated else "")
    return one_line(f"{SUBJECT_PREFIX.get(view.severity, '')}{kind}: {view.title}")


def render_alert(view: AlertView) -> tuple[str, str, str]:
    """(subject, text, html) of an immediate alert message."""
    text, html = render("alert", a=view, subject=alert_subject(view))
    return alert_subject(view), text, html


def render_bundle(items: list[dict[str, Any]], settings: Settings) -> tuple[str, str, str]:
    """(subject, text, html) of a bundle listing several pending alerts."""
    subject = f"Tổng hợp {len(items)} cảnh báo chưa gửi"
    inbox = f"{settings.web.public_url.rstrip('/')}/hop-thu"  # the web app's case inbox
    text, html = render("bundle", items=items, subject=subject, inbox=inbox)
    return subject, text, html
