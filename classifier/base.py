"""What every classifier gives: the `Classifier` protocol and the `Prediction` it returns.

The keyword baseline (classifier.baseline) and the trained model (classifier.service) both
satisfy the protocol; ingest, the API and the benches depend on this module only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Prediction:
    """One text's labels; codes as in docs taxonomy.md."""

    relevance: float
    topics: list[str]
    topic_scores: dict[str, float]
    sentiment: str
    # Polarity in [-1, 1]: below zero leans tiêu cực, above zero tích cực.
    sentiment_score: float
    risk: str
    risk_score: float
    toxicity: float
    misinformation: float
    # No default: a stored label row is keyed by the model that wrote it.
    model_version: str
    # Which cues fired, for explaining a label to the press office.
    cues: dict[str, int] = field(default_factory=dict)


class Classifier(Protocol):
    """What ingest and the API need of a classifier: a version name and batch predict."""

    model_version: str

    def predict(self, texts: list[str]) -> list[Prediction]: ...
