"""The one RSS 2.0 builder of the fixture web (the demo site's feed and each paper's)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape

# Vietnam has kept UTC+7 without daylight saving since 1975; a fixed offset is exact.
VN_TZ = timezone(timedelta(hours=7))
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class FeedItem:
    """One <item>; the full text, when given, goes into content:encoded as HTML paragraphs."""

    title: str
    link: str
    # A string is written as it is: tests copy how an outlet writes its dates.
    published_at: datetime | str
    lead: str
    paragraphs: tuple[str, ...] | list[str] = ()
    author: str = ""
    category: str = ""
    # True: the link, as a permalink; False: no <guid> (many feeds have none); a string: it.
    guid: str | bool = True


def _item(item: FeedItem) -> str:
    link = escape(item.link)
    if isinstance(item.guid, str):
        guid = f"<guid>{escape(item.guid)}</guid>"
    else:
        guid = f'<guid isPermaLink="true">{link}</guid>' if item.guid else ""
    published = (
        item.published_at
        if isinstance(item.published_at, str)
        else format_datetime(item.published_at.astimezone(VN_TZ))
    )
    author = f"<dc:creator>{escape(item.author)}</dc:creator>" if item.author else ""
    category = f"<category>{escape(item.category)}</category>" if item.category else ""
    # content:encoded holds HTML, so each paragraph is escaped as HTML and the whole
    # fragment once more as XML.
    html_body = "".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)
    content = f"<content:encoded>{escape(html_body)}</content:encoded>" if html_body else ""
    return (
        f"<item><title>{escape(item.title)}</title><link>{link}</link>{guid}"
        f"<pubDate>{published}</pubDate>{author}{category}"
        f"<description>{escape(item.lead)}</description>{content}</item>\n"
    )


def rss_feed(
    *,
    title: str,
    link: str,
    description: str,
    items: list[FeedItem],
    last_build: datetime | None = None,
) -> bytes:
    """An RSS 2.0 document (UTF-8) of `items` in the order given."""
    build = (
        f"<lastBuildDate>{format_datetime(last_build.astimezone(VN_TZ))}</lastBuildDate>"
        if last_build is not None
        else ""
    )
    xml = (
        XML_DECL + '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(description)}</description><language>vi</language>{build}\n"
        f"{''.join(_item(i) for i in items)}</channel>\n</rss>\n"
    )
    return xml.encode("utf-8")


def etag_of(body: bytes, length: int = 20) -> str:
    """A strong ETag derived from the body."""
    return '"' + hashlib.sha256(body).hexdigest()[:length] + '"'
