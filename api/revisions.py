"""Edits an outlet made to an article, as readable word-level differences ("Bài đã được sửa").

Every word is HTML-escaped before it is wrapped in <del>/<ins>; long unchanged stretches of
a body are shortened to their ends so the change stands out."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Document, DocumentRevision

# Words kept on each side of a change; an unchanged run longer than twice this is cut.
CONTEXT_WORDS = 12
# Below this share of tokens in common the texts are shown as old and new, whole.
REWRITE_RATIO = 0.5
_TOKEN_RE = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Edit:
    """One edit: the version shown until `replaced_at`, compared with the one after it."""

    replaced_at: datetime
    title: Markup | None
    lead: Markup | None
    body: Markup | None


def diff_html(old: str, new: str, *, context: int | None = CONTEXT_WORDS) -> Markup:
    """Word-level difference of two texts: removed words in <del>, added ones in <ins>."""
    a, b = _TOKEN_RE.findall(old or ""), _TOKEN_RE.findall(new or "")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < REWRITE_RATIO:
        # A rewrite reads better whole than as a patchwork of common little words.
        return Markup(f"<del>{escape(old)}</del> <ins>{escape(new)}</ins>".replace("\n", "<br>"))
    out: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(_unchanged(a[i1:i2], context, first=i1 == 0, last=i2 == len(a)))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    # Paragraph breaks of the article stay visible.
    return Markup("".join(out).replace("\n", "<br>"))


def _unchanged(tokens: list[str], context: int | None, *, first: bool, last: bool) -> str:
    words = [i for i, t in enumerate(tokens) if not t.isspace()]
    if context is None or len(words) <= 2 * context:
        return str(escape("".join(tokens)))
    head = "" if first else "".join(tokens[: words[context - 1] + 1])
    tail = "" if last else "".join(tokens[words[-context] :])
    return f"{escape(head)} … {escape(tail)}"


def _field(old: str, new: str, context: int | None) -> Markup | None:
    return diff_html(old, new, context=context) if old != new else None


def edits_of(session: Session, doc_ids: Sequence[str]) -> dict[str, list[Edit]]:
    """The edits of each document that has any, newest first."""
    if not doc_ids:
        return {}
    revisions = session.scalars(
        select(DocumentRevision)
        .where(DocumentRevision.document_id.in_(list(doc_ids)))
        .order_by(DocumentRevision.document_id, DocumentRevision.replaced_at, DocumentRevision.id)
    ).all()
    if not revisions:
        return {}
    current = {
        d.id: d
        for d in session.scalars(
            select(Document).where(Document.id.in_({r.document_id for r in revisions}))
        )
    }
    grouped: dict[str, list[DocumentRevision]] = {}
    for rev in revisions:
        grouped.setdefault(rev.document_id, []).append(rev)
    edits: dict[str, list[Edit]] = {}
    for doc_id, revs in grouped.items():
        doc = current.get(doc_id)
        if doc is None:
            continue
        # Each version is compared with the one that replaced it; the last with today's.
        later: list[DocumentRevision | Document] = [*revs[1:], doc]
        edits[doc_id] = [
            Edit(
                replaced_at=old.replaced_at,
                title=_field(old.title, new.title, None),
                lead=_field(old.lead, new.lead, None),
                body=_field(old.body, new.body, CONTEXT_WORDS),
            )
            for old, new in zip(revs, later, strict=True)
        ][::-1]
    return edits
