"""A news page's publish time: what its metadata states, checked against what its own
byline shows.

Only dates in the article's own block count as its byline: a sidebar's "1 giờ trước" is
another article's age. When metadata and byline disagree, the byline wins: it is what
readers see and what a press officer quotes, while a template's meta tag may carry a wrong
zone (12:40+08:00 beside a byline of 12:40 GMT+7) or a later edit's stamp."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import lxml.html
from lxml.html import HtmlElement

from core.text import clean
from crawlers.dates import DateReading, read_vn_datetime
from crawlers.pagetree import class_tokens, in_chrome, in_template_block

__all__ = ["article_scope", "publish_time"]

_SPACE_RE = re.compile(r"\s+")
# The block around the headline that holds this much paragraph text is the article.
_SCOPE_MIN_CHARS = 150
# Metadata within a minute of the byline says the same moment (bylines show no seconds).
_SAME_MINUTE = timedelta(minutes=1)
_VN_TZ = timezone(timedelta(hours=7))
_DATE_TOKENS = ("date", "time", "publish", "pubdate", "ngay", "thoigian", "datetime")
_UPDATED_TOKENS = ("updat", "modif", "datemodified", "capnhat")
_UPDATED_RE = re.compile(r"cập nhật|updated|chỉnh sửa|sửa lúc", re.I)
_META_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "og:published_time",
    "datepublished", "pubdate", "publishdate", "dc.date.issued", "dc.date.created",
    "parsely-pub-date", "sailthru.date", "date",
)  # fmt: skip


def _text(value: str | None) -> str:
    return clean(_SPACE_RE.sub(" ", value)) if value else ""


def article_scope(headline: HtmlElement | None) -> HtmlElement | None:
    """The element holding the article: its <article>, else the first block around the
    headline that also holds the body's paragraphs."""
    if headline is None:
        return None
    article = next(headline.iterancestors("article"), None)
    if article is not None:
        return article
    for anc in headline.iterancestors():
        if anc.tag in ("body", "html"):
            return anc
        if sum(len(_text(p.text_content())) for p in anc.iter("p")) >= _SCOPE_MIN_CHARS:
            return anc
    return None


def _updated(el: HtmlElement, text: str) -> bool:
    """A last-edit stamp ("Cập nhật 15:00", itemprop=dateModified), not the publish time."""
    tokens = class_tokens(el) + [(el.get("itemprop") or "").lower()]
    return any(t.startswith(_UPDATED_TOKENS) for t in tokens) or bool(_UPDATED_RE.search(text))


def _byline_dates(
    root: lxml.html.HtmlElement, scope: HtmlElement | None, now: datetime
) -> Iterator[tuple[DateReading, str, HtmlElement]]:
    """Dates the article shows of itself: <time> and date-named elements in its own block,
    never in a teaser, a related box or the page's chrome. Without a known article block,
    only absolute dates count: "1 giờ trước" anywhere else is another article's age."""
    where = scope if scope is not None else root
    for el in where.iter("time"):
        if in_chrome(el) or in_template_block(el, scope):
            continue
        text = el.get("datetime") or el.text_content()
        reading = read_vn_datetime(text, now=now)
        if reading is not None and (scope is not None or not reading.relative):
            yield reading, "updated" if _updated(el, text) else "time", el
    for el in where.xpath(".//*[@class or @id or @data-role or @itemprop]"):
        tokens = class_tokens(el) + [(el.get("data-role") or el.get("itemprop") or "").lower()]
        if not any(t.startswith(_DATE_TOKENS) for t in tokens if t) or in_chrome(el):
            continue
        text = _text(el.text_content())
        if not 6 <= len(text) <= 120 or in_template_block(el, scope):
            continue
        reading = read_vn_datetime(text, now=now)
        if reading is not None and (scope is not None or not reading.relative):
            yield reading, "updated" if _updated(el, text) else "text", el


def _agree(meta: datetime, shown: DateReading) -> bool:
    if abs(meta - shown.moment) < _SAME_MINUTE:
        return True
    # A byline that shows the day only agrees with any time on that (local) day.
    day = shown.moment.astimezone(_VN_TZ).date()
    return not shown.has_time and meta.astimezone(_VN_TZ).date() == day


def publish_time(
    root: lxml.html.HtmlElement,
    meta: dict[str, str],
    ld: dict[str, Any],
    scope: HtmlElement | None,
    *,
    now: datetime,
    warnings: list[str],
) -> tuple[datetime | None, str | None, HtmlElement | None]:
    """The publish time, where it came from, and the visible element that showed it."""
    stated: tuple[datetime, str] | None = None
    for key in _META_DATE_KEYS:
        reading = read_vn_datetime(meta.get(key), now=now)
        if reading is not None:
            stated = reading.moment, "meta"
            break
    if stated is None:
        for key in ("datePublished", "dateCreated"):
            value = ld.get(key)
            reading = read_vn_datetime(value if isinstance(value, str) else None, now=now)
            if reading is not None:
                stated = reading.moment, "json-ld"
                break
    candidates = list(_byline_dates(root, scope, now))
    # A last-edit stamp stands in only where the page gives nothing else.
    shown = next((c for c in candidates if c[1] != "updated"), None)
    if shown is None:
        if stated is not None:
            return (*stated, candidates[0][2] if candidates else None)
        if not candidates:
            return None, None, None
        reading, _, el = candidates[0]
        return reading.moment, "time" if el.tag == "time" else "text", el
    reading, source, el = shown
    if stated is None:
        return reading.moment, source, el
    # Metadata is precise when it agrees with the byline; a relative byline is approximate.
    if reading.relative or _agree(stated[0], reading):
        return stated[0], stated[1], el
    # The page's own byline is what readers (and a press officer quoting it) see; metadata
    # with another moment is a template's wrong zone or a later edit's stamp.
    warnings.append(
        f"{stated[1]} publish time {stated[0].isoformat()} contradicts the byline "
        f"({reading.moment.isoformat()}); the byline was kept"
    )
    return reading.moment, source, el
