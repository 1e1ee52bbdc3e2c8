"""Vietnamese UI names of the codes in docs/taxonomy.md (the names live in core.taxonomy)."""

from core.taxonomy import RISK_NAMES as RISKS
from core.taxonomy import SCOPE_NAMES as SCOPES
from core.taxonomy import SENTIMENT_NAMES as SENTIMENTS
from core.taxonomy import TOPIC_NAMES as TOPICS

FACETS = {
    "source": "Nguồn",
    "topic": "Chủ đề",
    "sentiment": "Sắc thái",
    "risk": "Mức độ",
    "unit": "Đơn vị",
}
ALL = {"topic": TOPICS, "sentiment": SENTIMENTS, "risk": RISKS, "scope": SCOPES, "facet": FACETS}
