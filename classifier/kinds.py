"""Kinds of text the classifier decides on, each with its own thresholds (issue 20).

A headline alone carries less than a title + lead, an article body reads differently from
either, and social posts and comments are short, casual and often typed without
diacritics: one probability cut does not suit all four. The kind is defined from what the
document has, so the service can tell it without a model:
- social: a post, comment, video or tip (Document.kind), or any text from a social source;
- headline: a title and nothing else;
- body: an article with a body of at least BODY_CHARS characters;
- title_lead: everything else (title + lead, or a short body).
No torch here: the crawlers import it to say which kind they send.
"""

from __future__ import annotations

KINDS = ("headline", "title_lead", "body", "social")
SOCIAL_DOCUMENT_KINDS = frozenset({"post", "comment", "video", "tip"})
SOCIAL_SOURCE_KINDS = frozenset({"facebook", "youtube", "forum", "tipline"})
# Below this a "body" is a teaser or a caption: the title and lead still carry the item.
BODY_CHARS = 400
DEFAULT_KIND = "title_lead"


def document_kind(
    title: str | None,
    lead: str | None,
    body: str | None,
    *,
    document_kind: str | None = None,
    source_kind: str | None = None,
) -> str:
    """Which of KINDS a document is, from its fields and where it came from."""
    if (document_kind or "") in SOCIAL_DOCUMENT_KINDS or (source_kind or "") in SOCIAL_SOURCE_KINDS:
        return "social"
    title, lead, body = (title or "").strip(), (lead or "").strip(), (body or "").strip()
    if len(body) >= BODY_CHARS:
        return "body"
    if title and not lead and not body:
        return "headline"
    return "title_lead"


def text_kind(text: str) -> str:
    """The kind of a bare text (no document fields): one short line is a headline, a long
    text a body, anything else title + lead. Social text cannot be told from the text alone."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) == 1 and len(lines[0]) <= 200:
        return "headline"
    if len(text) >= BODY_CHARS + 200:
        return "body"
    return "title_lead"


def kind_threshold(thresholds: dict[str, float], head: str, kind: str) -> float:
    """A head's decision threshold for a kind of text: `head/kind` when the artefact has
    per-kind thresholds (v3 on), else the head's single one (v2), else 0.5."""
    return float(thresholds.get(f"{head}/{kind}") or thresholds.get(head) or 0.5)


def decision_score(probability: float, threshold: float) -> float:
    """The probability mapped so that the kind's threshold lands on 0.5 (monotone, 0 and 1
    kept): every consumer that cuts a stored score at 0.5 (the digest, reports, alert
    scoring) then decides at the threshold chosen for that kind of text."""
    t = min(max(threshold, 1e-6), 1 - 1e-6)
    p = min(max(probability, 0.0), 1.0)
    return 0.5 * p / t if p < t else 0.5 + 0.5 * (p - t) / (1 - t)
