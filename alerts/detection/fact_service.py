"""Fact bank entries written by the admin: checked, saved and audited."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import Actor, commit_audited, delete_audited, submitted
from core.models import Alert, Fact, utcnow

# What the API docs show as an example.
FACT_EXAMPLE: dict[str, Any] = {
    "kind": "refuted",
    "statement": "Sở GDĐT yêu cầu học sinh nộp 2 triệu đồng tiền cơ sở vật chất.",
    "correction": "Sở GDĐT khẳng định không có chủ trương thu khoản này.",
    "source_url": "https://sogddt.example.gov.vn/thong-bao/123",
}


class FactIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FACT_EXAMPLE]})
    kind: Literal["refuted", "verified"] = "refuted"
    statement: str = Field(min_length=1, max_length=5000)
    correction: str = Field(default="", max_length=10000)
    source_url: str | None = Field(default=None, max_length=2000)
    active: bool = True


def _check_url(url: str | None) -> str | None:
    url = (url or "").strip() or None
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError("Đường dẫn nguồn phải bắt đầu bằng http:// hoặc https://.")
    return url


def _statement(data: FactIn) -> str:
    statement = data.statement.strip()
    if not statement:
        raise ValueError("Vui lòng nhập nội dung thông tin.")
    return statement


def create_fact(session: Session, *, actor: Actor, data: FactIn) -> Fact:
    """Add a fact-bank entry; its embedding is filled later by the matching code."""
    fact = Fact(
        kind=data.kind,
        statement=data.statement.strip(),
        correction=data.correction.strip(),
        source_url=_check_url(data.source_url),
        active=data.active,
        created_by=actor.user_id,
    )
    _statement(data)
    return commit_audited(session, actor, "fact.create", fact, submitted(data))


def update_fact(session: Session, fact: Fact, *, actor: Actor, data: FactIn) -> Fact:
    """Edit a fact; a changed statement drops the stale embedding."""
    statement = _statement(data)
    if statement != fact.statement:
        fact.embedding, fact.embedding_model = None, None
    fact.kind, fact.statement = data.kind, statement
    fact.correction, fact.source_url = data.correction.strip(), _check_url(data.source_url)
    fact.active, fact.updated_at = data.active, utcnow()
    return commit_audited(session, actor, "fact.update", fact, submitted(data))


def delete_fact(session: Session, fact: Fact, *, actor: Actor) -> None:
    """Delete a fact; alerts that cited it keep their text."""
    for alert in session.scalars(select(Alert).where(Alert.fact_id == fact.id)):
        alert.fact_id = None
    delete_audited(session, actor, "fact.delete", fact, {"statement": fact.statement})
