"""RSS and Atom feeds: feedparser on the raw bytes, so the charset from the HTTP header or
the XML declaration is honoured; HTML in summaries and content is reduced to plain text.
Legacy Vietnamese feeds (windows-1258, TCVN3, VNI) are decoded by crawlers.encoding first and
handed to feedparser as UTF-8."""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.etree
import lxml.html

from core.models import Source, utcnow
from core.settings import Settings
from core.text import clean
from crawlers.connectors.base import CrawlOutput, FetchedItem, register_connector
from crawlers.dates import MAX_FUTURE, parse_vn_datetime
from crawlers.encoding import charset_from_content_type, decode
from crawlers.http import FetchError, fetch
from crawlers.identity import canonical_url

log = logging.getLogger(__name__)

_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
        "blockquote", "section", "article", "figure", "figcaption", "header", "footer", "pre",
        "hr", "dd", "dt",
    }
)  # fmt: skip
_DROP_TAGS = ("script", "style", "noscript", "iframe", "template", "object", "embed")
# "GMT+7", "UTC+07:00": offsets RFC 822 does not know but Vietnamese feeds write.
_GMT_OFFSET_RE = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\s*$", re.I)


def html_to_text(html: str | None) -> str:
    """Plain text of an HTML fragment: tags and scripts gone, blocks on separate lines."""
    if not html or not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return clean(html)
    for el in list(root.iter(*_DROP_TAGS)):
        el.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            # text_content() glues paragraphs together; a line break keeps them apart.
            el.tail = "\n\n" + (el.tail or "")
    return clean(root.text_content())


def _detail_text(detail: Any, fallback: str | None) -> str:
    """Text of a feedparser *_detail dict (plain or HTML)."""
    if detail is not None and detail.get("type") == "text/plain":
        return clean(detail.get("value"))
    value = detail.get("value") if detail is not None else fallback
    return html_to_text(value)


def parse_feed_date(raw: str | None, now: datetime) -> datetime | None:
    """A feed date, RFC 822 ("GMT+7", "+0700", "ICT") or Vietnamese ("Thứ hai, 07/12/2026
    08:00 GMT+7"), as aware UTC; None when unreadable."""
    text = " ".join((raw or "").split())
    if not text:
        return None
    # The shared press-date parser reads RFC 822 (named zones, GMT+7, +0700) and Vietnamese
    # day/month names alike, so a feed and its page agree on a moment.
    moment = parse_vn_datetime(text, now=now)
    if moment is not None:
        return moment
    rfc = _GMT_OFFSET_RE.sub(lambda m: f"{m[1]}{int(m[2]):02d}{m[3] or '00'}", text)
    try:
        moment = email.utils.parsedate_to_datetime(rfc)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is not None and moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return None


def _entry_time(entry: Any, now: datetime) -> tuple[datetime | None, str | None]:
    for key in ("published", "updated", "created"):
        # Our parser first: feedparser reads "ICT" as UTC and "2026-12-07 12:40 GMT+7" as
        # midnight. It refuses dates over a day ahead, which feedparser's reading below keeps
        # so the future-date note can say what the feed claimed.
        moment = parse_feed_date(entry.get(key), now)
        if moment is not None:
            return moment, f"{key}_parsed"
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            # feedparser normalises every date to a UTC struct_time.
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC), f"{key}_parsed"
    return None, None


def feed_hash(item: FetchedItem, raw_date: str) -> str:
    """sha256 of what the feed itself says of an item; a re-poll compares it with the last.

    The date goes in as the feed wrote it: a date replaced by the fetch time (one in the
    future) must not make every poll look like an edit."""
    text = "\x1f".join((item.title, item.lead, item.body, raw_date))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry_body(entry: Any) -> str:
    # content:encoded (RSS) and <content> (Atom) both land in entry.content.
    for content in entry.get("content") or ():
        text = _detail_text(content, None)
        if text:
            return text
    return ""


def entry_to_item(entry: Any, *, base_url: str, now: datetime) -> FetchedItem:
    """One feed entry as a FetchedItem; raises ValueError when it cannot identify the item."""
    link = (entry.get("link") or "").strip() or None
    guid = (entry.get("id") or "").strip() or None
    if link is None and guid and entry.get("guidislink"):
        link = guid
    if not link and not guid:
        raise ValueError("entry has neither link nor guid")
    if link:
        link = urljoin(base_url, link)
    meta: dict[str, Any] = {}
    published_at, date_field = _entry_time(entry, now)
    if published_at is not None and published_at > now + MAX_FUTURE:
        meta["published_at_note"] = (
            f"feed date {published_at.isoformat()} is in the future; replaced by fetch time"
        )
        published_at = now
    elif date_field and date_field != "published_parsed":
        meta["published_at_from"] = date_field.removesuffix("_parsed")
    tags = [t.get("term") for t in entry.get("tags") or () if t.get("term")]
    if tags:
        meta["categories"] = tags[:20]
    lead = _detail_text(entry.get("summary_detail"), entry.get("summary"))
    body = _entry_body(entry)
    if body and body == lead:
        body = ""
    # The text is the feed's own until crawlers.enrich reads the page.
    meta["body_from"] = "feed"
    item = FetchedItem(
        url=link,
        title=_detail_text(entry.get("title_detail"), entry.get("title")),
        lead=lead,
        body=body,
        author=clean(entry.get("author")) or None,
        published_at=published_at,
        native_id=guid,
        meta=meta,
    )
    raw_date = " ".join(str(entry.get(k) or "") for k in ("published", "updated"))
    item.meta["feed_hash"] = feed_hash(item, raw_date)
    return item


def _legacy_to_utf8(content: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """Feed bytes feedparser can read: legacy Vietnamese ones re-encoded as UTF-8.

    feedparser knows windows-1258 but not TCVN3/VNI font text, and cleaning its output would
    drop TCVN3's soft hyphen (the letter ư) before anyone could convert it."""
    decoded = decode(content, charset_from_content_type(headers.get("content-type")))
    if not decoded.vietnamese_legacy:
        return content, headers
    media = (headers.get("content-type") or "application/xml").split(";", 1)[0].strip()
    return decoded.utf8_xml(), {**headers, "content-type": f"{media}; charset=utf-8"}


def parse_feed(
    content: bytes,
    *,
    url: str,
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
) -> CrawlOutput:
    """Items of an RSS/Atom document; raises FetchError when nothing in it can be parsed."""
    now = now or utcnow()
    given = {k.lower(): v for k, v in (headers or {}).items()}
    # Only what feedparser needs for the charset and relative links: the body is already
    # decompressed, so Content-Encoding and Content-Length no longer describe it.
    response_headers: dict[str, str] = {
        k: given[k] for k in ("content-type", "content-location") if k in given
    }
    response_headers.setdefault("content-location", url)
    content, response_headers = _legacy_to_utf8(content, response_headers)
    parsed = feedparser.parse(content, response_headers=response_headers)
    output = CrawlOutput()
    problem = _real_problem(parsed)
    if not parsed.entries:
        if problem is not None:
            raise FetchError(f"feed at {url} could not be parsed: {problem}")
        if not parsed.get("version"):
            raise FetchError(f"{url} is not an RSS or Atom feed")
        return output
    if problem is not None:
        # feedparser's lenient parser still recovered entries; keep them, note the damage.
        output.errors.append(f"malformed feed, parsed leniently: {problem}")
    seen: set[str] = set()
    base_url = parsed.get("href") or url
    for position, entry in enumerate(parsed.entries, start=1):
        try:
            item = entry_to_item(entry, base_url=base_url, now=now)
        except Exception as exc:
            output.errors.append(f"entry {position}: {exc}")
            continue
        key = _dedupe_key(item)
        if key in seen:
            continue
        seen.add(key)
        if "published_at_note" in item.meta:
            output.errors.append(f"{item.url}: {item.meta['published_at_note']}")
        output.items.append(item)
    return output


def _real_problem(parsed: Any) -> Exception | None:
    """The parse error worth reporting, if any."""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    # Content-type and declared-charset quibbles (servers sending text/html for a feed)
    # leave the items intact; only an undecodable charset may have garbled them.
    if isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe) and not isinstance(
        problem, feedparser.CharacterEncodingUnknown
    ):
        return None
    return problem


def _dedupe_key(item: FetchedItem) -> str:
    if item.url:
        try:
            return canonical_url(item.url)
        except ValueError:
            return item.url
    return f"guid:{item.native_id}"


class RssConnector:
    """Polls one RSS/Atom feed with conditional GET."""

    kind = "rss"

    def fetch(self, source: Source, settings: Settings) -> CrawlOutput:
        """Fetch and parse the source's feed; 304 gives an empty, not_modified output."""
        started = time.monotonic()
        result = fetch(
            source.url, settings=settings, etag=source.etag, last_modified=source.last_modified
        )
        if result.not_modified:
            return CrawlOutput(
                etag=result.etag, last_modified=result.last_modified, not_modified=True
            )
        output = parse_feed(result.content, url=result.url, headers=result.headers)
        output.etag, output.last_modified = result.etag, result.last_modified
        log.debug(
            "feed %s: %d items in %.2fs",
            source.url,
            len(output.items),
            time.monotonic() - started,
        )
        return output


register_connector("rss", RssConnector)
