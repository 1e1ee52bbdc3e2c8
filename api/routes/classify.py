"""POST /api/v1/classify: the classifier's labels and calibrated probabilities for raw texts."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import ReaderDep, SettingsDep
from api.schemas import ErrorOut
from classifier.service import get_classifier

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["classify"])
MAX_TEXTS = 64
MAX_CHARS = 20_000
# Far above MAX_CHARS, which answers with a precise Vietnamese message; this bound only
# keeps absurd bodies from being processed at all.
HARD_MAX_CHARS = 200_000


class ClassifyIn(BaseModel):
    texts: list[Annotated[str, Field(max_length=HARD_MAX_CHARS)]] = Field(
        min_length=1,
        max_length=MAX_TEXTS,
        description=f"1–{MAX_TEXTS} texts, each at most {MAX_CHARS:,} characters",
        examples=[["Phụ huynh phản ánh lạm thu đầu năm học ở một trường tiểu học."]],
    )


class PredictionOut(BaseModel):
    relevance: float = Field(description="Probability that the text is about education")
    topics: list[str] = Field(description="1–3 topic codes (docs/taxonomy.md)")
    topic_scores: dict[str, float]
    sentiment: str = Field(examples=["tieu_cuc"])
    sentiment_score: float = Field(description="P(tích cực) − P(tiêu cực), in [-1, 1]")
    risk: str = Field(examples=["nong"])
    risk_score: float = Field(description="P(nóng) + ½ P(theo dõi)")
    toxicity: float
    misinformation: float
    flags: dict[str, bool] = Field(
        default_factory=dict, description="relevant / toxic / unreliable at calibrated cut-offs"
    )
    probabilities: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Every head's calibrated probabilities"
    )
    model_version: str


class ClassifyOut(BaseModel):
    model_version: str
    predictions: list[PredictionOut]


def _vn_number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _check(texts: list[str]) -> None:
    for i, text in enumerate(texts, start=1):
        if len(text) > MAX_CHARS:
            raise HTTPException(
                status_code=422,
                detail=f"Văn bản thứ {i} dài {_vn_number(len(text))} ký tự, vượt giới hạn "
                f"{_vn_number(MAX_CHARS)} ký tự.",
            )
    if not any(any(ch.isalnum() for ch in text) for text in texts):
        raise HTTPException(
            status_code=400, detail="Không có văn bản nào có chữ hoặc số để phân loại."
        )


def _out(pred: Any) -> PredictionOut:
    return PredictionOut(
        relevance=pred.relevance,
        topics=list(pred.topics),
        topic_scores=dict(pred.topic_scores),
        sentiment=pred.sentiment,
        sentiment_score=pred.sentiment_score,
        risk=pred.risk,
        risk_score=pred.risk_score,
        toxicity=pred.toxicity,
        misinformation=pred.misinformation,
        # The keyword baseline (no artefact installed) has neither.
        flags=dict(getattr(pred, "flags", {}) or {}),
        probabilities=dict(getattr(pred, "probabilities", {}) or {}),
        model_version=pred.model_version,
    )


@router.post(
    "/classify",
    response_model=ClassifyOut,
    responses={400: {"model": ErrorOut}, 422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def classify(body: ClassifyIn, settings: SettingsDep, _: ReaderDep) -> ClassifyOut:
    """Classify raw texts (relevance, topics, sentiment, risk, toxicity, misinformation)."""
    _check(body.texts)
    classifier = get_classifier(settings)
    try:
        predictions = classifier.predict(list(body.texts))
    except Exception:
        log.exception("classifier %s failed", classifier.model_version)
        raise HTTPException(
            status_code=503, detail="Bộ phân loại tạm thời không hoạt động; vui lòng thử lại sau."
        ) from None
    return ClassifyOut(
        model_version=classifier.model_version, predictions=[_out(p) for p in predictions]
    )
