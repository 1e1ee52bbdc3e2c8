"""A check that a page shows words, not program values: no Python repr (`{'`, `[]`, `True`,
`False`, `None`) and no English key (`content.risk`, `names_province`, `severity: low`).

Used on every page a signed-in user can reach (tests/e2e/test_pages_crawl.py) and on rendered
HTML in the API tests (`text_of`). Text in <code>, <kbd> and <pre> is literal input a user
types (search syntax, an import file's column names) and is not checked; nor are the API
documentation pages (/docs, /redoc), English by design (API field names are English)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

# Links and addresses may hold dots and underscores that are not keys.
_ADDRESSES = re.compile(
    r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b[\w-]+(?:\.[\w-]+)+\.(?:vn|com|net|org|test|invalid|local)\b"
)
# Keys the app records in JSON (alerts' details, settings, labels): shown, they are a leak.
ENGLISH_KEYS = (
    "score", "severity", "components", "weights", "formula", "documents", "outlets", "path",
    "reasons", "topics", "risk", "sentiment", "relevance", "status", "kind", "details",
    "similarity", "statement", "correction", "dimension", "count", "ratio", "label", "message",
    "reach", "scope", "unit_id", "rule_id", "story_id", "first_document", "as_of",
)  # fmt: skip
PATTERNS = {
    "Python dict": re.compile(r"\{'|\{\""),
    "Python list": re.compile(r"\[\]|\['|\[\d+(?:\.\d+)?, "),
    "Python True/False/None": re.compile(r"\b(?:True|False|None)\b"),
    "snake_case key": re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"),
    "dotted key": re.compile(r"\b(?:content|spread|weights|components)\.[a-z_]+\b"),
    "English key": re.compile(r"\b(?:" + "|".join(ENGLISH_KEYS) + r")\s*[:=]"),
}


def problems(text: str) -> list[str]:
    """What in `text` (a page's visible text) reads as a program value, with its context."""
    text = _ADDRESSES.sub(" ", text)
    found = []
    for name, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            start = max(0, m.start() - 40)
            found.append(f"{name}: …{text[start : m.end() + 40]!r}…")
    return found


# Not shown (script, style), or shown as literal input (code, kbd, pre).
SKIPPED_TAGS = ("script", "style", "template", "code", "kbd", "pre")


class _Text(HTMLParser):
    """The text of an HTML page a reader sees as words (no attribute values, no
    SKIPPED_TAGS); closed <details> included, so a toggle is checked too."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in SKIPPED_TAGS:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    """The visible text of rendered HTML, for `problems` in tests without a browser."""
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def assert_no_repr(page: Any, where: str = "") -> None:
    """Fail if a Playwright page (as rendered now, script-inserted rows included) shows a
    program value."""
    found = problems(text_of(page.content()))
    assert not found, f"{where or page.url} shows program values:\n" + "\n".join(found[:10])
