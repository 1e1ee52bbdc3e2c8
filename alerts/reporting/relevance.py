"""What counts as an education item in every figure: the digest, the dashboard, the report and
the forecast share this one definition, so their numbers agree.

An item counts when its newest classification's relevance is at or above the configured
threshold (settings.alerts.relevance_threshold, DIEMTIN_RELEVANCE_THRESHOLD). The crawl keeps
unrelated news too (it feeds search and the labelling queue); counting it would tell the
leadership that "Khác" is the biggest topic of the month."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from core.models import Classification, Document

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Counting:
    """Which items a figure counts: relevant ones at `threshold`, or everything stored."""

    threshold: float = DEFAULT_THRESHOLD
    everything: bool = False

    @property
    def min_relevance(self) -> float | None:
        """The relevance floor to filter on, None when everything counts."""
        return None if self.everything else self.threshold

    def caption(self) -> str:
        """How the figures were counted, in the reader's words."""
        if self.everything:
            return "Đang tính mọi tin, bài đã thu thập (kể cả tin không thuộc lĩnh vực giáo dục)."
        share = f"{self.threshold:.2f}".replace(".", ",")
        return f"Chỉ tính tin, bài về giáo dục (độ liên quan từ {share} trở lên)."


def newest_classification() -> Any:
    """The id of a document's newest classification (correlated to the outer Document)."""
    return (
        select(func.max(Classification.id))
        .where(Classification.document_id == Document.id)
        .correlate(Document)
        .scalar_subquery()
    )


def is_relevant(threshold: float) -> ColumnElement[bool]:
    """WHERE clause: the document's newest classification has relevance >= threshold.

    Correlated to the outer query's Document, so any query over documents can add it."""
    newest_relevance = (
        select(Classification.relevance)
        .where(Classification.id == newest_classification())
        .correlate(Document)
        .scalar_subquery()
    )
    return newest_relevance >= threshold
