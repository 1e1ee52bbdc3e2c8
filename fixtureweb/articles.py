"""The fixture press web's articles: our own writing (articles.json), syndicated copies built
from it by light rewording, and optional extras built at run time from the VNTC sample."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fixtureweb.demo_articles import load_vntc_articles

ARTICLES_FILE = Path(__file__).with_name("articles.json")
VNTC_SAMPLE = Path("vntc-articles") / "sample.csv"
PAPER_KEYS = ("baoA", "baoB", "baoC")
# robots.txt of every paper disallows these prefixes.
DISALLOWED_PREFIXES = ("/noi-bo/", "/tim-kiem")


@dataclass
class FixtureArticle:
    """One article page of one fixture paper, with the truth an extractor should find."""

    paper: str
    slug: str
    number: int
    section: str
    title: str
    lead: str
    paragraphs: list[str]
    author: str
    # UTC, whole minutes: two of the papers show only hours and minutes.
    published_at: datetime
    alt: str = ""
    caption: str = ""
    # "paper/slug" of the original story; syndicated copies share it.
    story: str = ""
    # Set on syndicated copies: "paper/slug" of the original.
    copy_of: str | None = None
    # "self": <link rel=canonical> to itself; "original": to the original; "none": no link.
    canonical: str = "self"
    # Served with unclosed tags and stray end tags (lxml must recover it).
    malformed: bool = False
    # A path of its own (the robots.txt-disallowed page); otherwise the paper builds one.
    path: str | None = None
    comments: list[tuple[str, str]] = field(default_factory=list)
    # Built at run time from the VNTC sample (never stored in the repository).
    from_vntc: bool = False

    @property
    def key(self) -> str:
        """'paper/slug'."""
        return f"{self.paper}/{self.slug}"

    @property
    def robots_allowed(self) -> bool:
        """False for pages under a path robots.txt disallows."""
        return not (self.path or "").startswith(DISALLOWED_PREFIXES)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _reword(text: str, replacements: list[list[str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def load_fixture_articles(now: datetime) -> list[FixtureArticle]:
    """Our own articles, published `hours_ago` before `now`, syndicated copies included."""
    raw = json.loads(ARTICLES_FILE.read_text(encoding="utf-8"))
    pool = [(c["name"], c["text"]) for c in raw["comments"]]
    by_key: dict[str, FixtureArticle] = {}
    articles: list[FixtureArticle] = []
    for number, entry in enumerate(raw["articles"], start=1001):
        comments = [pool[(number + k * 3) % len(pool)] for k in range(number % 3 + 1)]
        original_key = entry.get("copy_of")
        if original_key:
            original = by_key[original_key]
            replacements = entry.get("replace", [])
            article = FixtureArticle(
                paper=entry["paper"],
                slug=entry["slug"],
                number=number,
                section=original.section,
                title=entry["title"],
                lead=_reword(original.lead, replacements),
                paragraphs=[_reword(p, replacements) for p in original.paragraphs],
                author=entry.get("author", ""),
                published_at=_minute(
                    original.published_at + timedelta(hours=float(entry["hours_after"]))
                ),
                alt=original.alt,
                caption=original.caption,
                story=original.story,
                copy_of=original_key,
                canonical=entry.get("canonical", "none"),
                comments=comments,
            )
        else:
            article = FixtureArticle(
                paper=entry["paper"],
                slug=entry["slug"],
                number=number,
                section=entry.get("section", "Giáo dục"),
                title=entry["title"],
                lead=entry["lead"],
                paragraphs=list(entry["paragraphs"]),
                author=entry.get("author", ""),
                published_at=_minute(now - timedelta(hours=float(entry["hours_ago"]))),
                alt=entry.get("alt", ""),
                caption=entry.get("caption", ""),
                story=f"{entry['paper']}/{entry['slug']}",
                malformed=bool(entry.get("malformed", False)),
                path=entry.get("path"),
                comments=comments,
            )
        by_key[article.key] = article
        articles.append(article)
    return articles


def load_extra_articles(
    shared_data_dir: Path, *, per_paper: int, now: datetime
) -> list[FixtureArticle]:
    """`per_paper` articles per paper built from the VNTC sample at run time ([] if absent)."""
    if per_paper <= 0:
        return []
    rows = load_vntc_articles(
        shared_data_dir / VNTC_SAMPLE, limit=per_paper * len(PAPER_KEYS), now=now
    )
    extras = []
    for i, row in enumerate(rows):
        paper = PAPER_KEYS[i % len(PAPER_KEYS)]
        slug = f"tin-tong-hop-{i + 1:04d}"
        extras.append(
            FixtureArticle(
                paper=paper,
                slug=slug,
                number=5001 + i,
                section=row.section,
                title=row.title,
                lead=row.lead,
                paragraphs=row.paragraphs,
                author="",
                published_at=_minute(row.published_at),
                story=f"{paper}/{slug}",
                from_vntc=True,
            )
        )
    return extras
