"""Vietnamese names shown in notifications and the digest (codes stay English)."""

from __future__ import annotations

from core.taxonomy import SENTIMENT_NAMES, SEVERITY_NAMES, STATUS_NAMES, TOPIC_NAMES

__all__ = ["SENTIMENT_NAMES", "SEVERITY_NAMES", "STATUS_NAMES", "TOPIC_NAMES"]

SEVERITIES = ("low", "medium", "high", "critical")
# Subject prefixes: the inbox of a busy office is sorted by these at a glance.
SUBJECT_PREFIX = {"critical": "[Khẩn] ", "high": "[Quan trọng] ", "medium": "", "low": ""}
KIND_NAMES = {
    "hot": "Tình huống nóng",
    "spike": "Tin tăng đột biến",
    "misinfo": "Thông tin sai lệch",
    "rule": "Cảnh báo theo từ khóa",
}


def severity_rank(severity: str | None) -> int:
    """0 (low) .. 3 (critical); unknown values rank as medium."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1
