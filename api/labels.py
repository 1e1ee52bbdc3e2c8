"""The facets of the search page and each facet's Vietnamese names, as the templates read them
(the names live in core.taxonomy; codes are in docs/taxonomy.md)."""

from core.taxonomy import RISK_NAMES, SCOPE_NAMES, SENTIMENT_NAMES, TOPIC_NAMES

FACETS = {
    "source": "Nguồn",
    "topic": "Chủ đề",
    "sentiment": "Sắc thái",
    "risk": "Mức độ",
    "unit": "Đơn vị",
    "place": "Địa bàn",
}
ALL = {
    "topic": TOPIC_NAMES,
    "sentiment": SENTIMENT_NAMES,
    "risk": RISK_NAMES,
    "scope": SCOPE_NAMES,
    "facet": FACETS,
}
