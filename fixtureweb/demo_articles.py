"""The demo site's articles: our own fictional education news (demo_articles.json), plus, when
the shared VNTC sample is present, real article text read from it at run time (never copied
here)."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from core.models import utcnow
from core.settings import Settings, get_settings

ARTICLES_FILE = Path(__file__).with_name("demo_articles.json")
VNTC_SAMPLE = Path("vntc-articles") / "sample.csv"
WINDOW = timedelta(hours=48)
# A headline: short, not a sentence (issue 18: demo articles showed a paragraph as title).
MAX_TITLE_CHARS = 120
# VNTC often runs the headline into the lead: "Tiêu đề (NLĐ)- Ngày 22-3, ..." The agency tag
# with its dash is where the headline ends.
_AGENCY_CUT = re.compile(r"\s*\((?:NLĐ|TN|TT|VNE|TTXVN|PL|SGGP|DT)\)\s*[-–—]\s*")
_SENTENCE_END = re.compile(r"[.!?…:;]$")


@dataclass
class DemoArticle:
    """One article of the demo site."""

    slug: str
    title: str
    lead: str
    paragraphs: list[str]
    published_at: datetime
    author: str = ""
    section: str = "Giáo dục"
    tags: list[str] = field(default_factory=list)


def load_builtin_articles(now: datetime) -> list[DemoArticle]:
    """Our own fictional articles, published `hours_ago` before `now`."""
    raw = json.loads(ARTICLES_FILE.read_text(encoding="utf-8"))
    return [
        DemoArticle(
            slug=a["slug"],
            title=a["title"],
            lead=a["lead"],
            paragraphs=list(a["paragraphs"]),
            published_at=now - timedelta(hours=float(a["hours_ago"])),
            author=a.get("author", ""),
            section=a.get("section", "Giáo dục"),
        )
        for a in raw
    ]


def split_headline(lines: list[str]) -> tuple[str, list[str]] | None:
    """(headline, the text after it) from an article's non-blank lines, or None when the text
    has no headline: a first line that is a paragraph is not promoted to a title."""
    first, rest = lines[0], lines[1:]
    cut = _AGENCY_CUT.search(first)
    if cut and 0 < cut.start() <= MAX_TITLE_CHARS:
        title, lead = first[: cut.start()].strip(), first[cut.end() :].strip()
        return (title, [lead, *rest]) if lead else (title, rest)
    # A sentence, or a verse line run on with commas, is text, not a headline.
    sentence = _SENTENCE_END.search(first) or ". " in first or first.count(", ") >= 3
    if len(first) > MAX_TITLE_CHARS or sentence:
        return None
    return first, rest


def load_vntc_articles(path: Path, *, limit: int, now: datetime) -> list[DemoArticle]:
    """Up to `limit` articles from the VNTC sample that have a headline, or [] if absent."""
    if limit <= 0 or not path.is_file():
        return []
    # Article bodies exceed csv's default 128 KiB field limit now and then.
    csv.field_size_limit(16 * 1024 * 1024)
    rows: list[tuple[list[str], str]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            lines = [line.strip() for line in (row.get("text") or "").splitlines()]
            lines = [line for line in lines if line]
            headline = split_headline(lines) if lines else None
            if headline and len(headline[1]) >= 1:
                rows.append(([headline[0], *headline[1]], row.get("label") or "Tin tức"))
            if len(rows) >= limit:
                break
    step = WINDOW / (len(rows) + 1)
    return [
        DemoArticle(
            slug=f"vntc-{i:04d}",
            title=lines[0],
            lead=lines[1],
            paragraphs=lines[2:] or lines[1:],
            published_at=now - step * (i + 1),
            section=label,
        )
        for i, (lines, label) in enumerate(rows)
    ]


def load_demo_articles(
    *, now: datetime | None = None, settings: Settings | None = None, extra_limit: int = 200
) -> list[DemoArticle]:
    """Built-in articles plus up to `extra_limit` VNTC ones, newest first."""
    now = now or utcnow()
    articles = load_builtin_articles(now)
    if extra_limit > 0:
        shared = (settings or get_settings()).shared_data_dir
        articles += load_vntc_articles(shared / VNTC_SAMPLE, limit=extra_limit, now=now)
    return sorted(articles, key=lambda a: a.published_at, reverse=True)
