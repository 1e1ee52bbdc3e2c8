"""Reading XenForo-style forum pages: the thread list and a thread's posts. Quotes are cut out of
post text, so a reply holds only what its own author wrote."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html

from core.text import clean
from crawlers.connectors.social import count, parse_time
from crawlers.http import FetchError, FetchResult

_POST_ID_RE = re.compile(r"post-(\d+)")
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
_COUNT_RE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([KkMm]?)$")
_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "table", "tr", "pre", "blockquote"}
)
# Not text of the post: scripts, link previews, the "Click to expand" button, spoiler buttons.
_DROP_CLASSES = ("bbCodeBlock-expandLink", "bbCodeBlock--unfurl", "bbCodeSpoiler-button")


def _cls(name: str) -> str:
    """XPath test for one class token (what CSS `.name` means)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


@dataclass
class ThreadRef:
    """A thread as the forum listing shows it."""

    url: str
    title: str
    last_post_at: datetime | None = None
    replies: int | None = None
    views: int | None = None


@dataclass
class Post:
    """One post of a thread page."""

    post_id: str
    author: str | None
    published_at: datetime | None
    text: str
    quoted: list[str] = field(default_factory=list)
    permalink: str | None = None


@dataclass
class ThreadPage:
    """One page of a thread."""

    title: str
    posts: list[Post]
    next_url: str | None
    # Page number -> URL, from the page navigation.
    pages: dict[int, str] = field(default_factory=dict)


def parse_html(result: FetchResult) -> Any:
    """The document tree of a fetched page, decoded by the HTTP or <meta> charset."""
    match = re.search(r"charset=([\w-]+)", result.content_type or "")
    charset = match.group(1) if match else None
    if charset is None:
        meta = _CHARSET_RE.search(result.content[:4096])
        charset = meta.group(1).decode("ascii") if meta else "utf-8"
    try:
        parser = lxml.html.HTMLParser(encoding=charset)
    except LookupError:
        parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        return lxml.html.document_fromstring(result.content, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise FetchError(f"{result.url} is not a readable HTML page: {exc}") from exc


def element_time(el: Any, tz: tzinfo) -> datetime | None:
    """The UTC time of a `time.u-dt` element: data-time (epoch) first, then datetime (naive
    values are local forum time)."""
    epoch = el.get("data-time")
    if epoch and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return parse_time(el.get("datetime"), tz)


def _latest_time(el: Any, tz: tzinfo) -> datetime | None:
    times = [t for t in (element_time(x, tz) for x in el.xpath(f".//time[{_cls('u-dt')}]")) if t]
    return max(times) if times else None


def _short_count(text: str) -> int | None:
    """'12', '1,234', '1.234', '1K', '1,2K', '2M' as a number."""
    match = _COUNT_RE.match(text.strip())
    if not match:
        return None
    number, suffix = match.groups()
    if suffix:
        return int(float(number.replace(",", ".")) * (1000 if suffix in "Kk" else 1_000_000))
    return count(number.replace(",", "").replace(".", ""))


def _text(el: Any) -> str:
    """Readable text of an element: line breaks kept, blocks apart, whitespace tidied."""
    # As a browser does: newlines in the source are spaces; only <br> and blocks break lines.
    kept = {n for pre in el.iter("pre") for n in pre.iter()}
    for node in el.iter():
        if node.text and node not in kept:
            node.text = _SPACE_RE.sub(" ", node.text)
        if node.tail and (node not in kept or node.tag == "pre"):
            node.tail = _SPACE_RE.sub(" ", node.tail)
    for br in el.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in el.iter(*_BLOCK_TAGS):
        block.tail = "\n\n" + (block.tail or "")
    return clean(el.text_content())


def parse_listing(root: Any, page_url: str, tz: tzinfo) -> tuple[list[ThreadRef], str | None]:
    """Threads on a forum listing page and the URL of the next listing page."""
    threads: list[ThreadRef] = []
    for item in root.xpath(f"//*[{_cls('structItem--thread')}]"):
        links = item.xpath(f".//*[{_cls('structItem-title')}]//a[@href]")
        # Prefix labels ("Hỏi đáp") are links too; the title link is marked or comes last.
        primary = [a for a in links if a.get("data-tp-primary") == "on"]
        titles = [a for a in links if not a.xpath(f"self::*[{_cls('labelLink')}]")]
        link = (primary or titles or [None])[-1]
        if link is None:
            continue
        meta_cell = item.xpath(f".//*[{_cls('structItem-cell--meta')}]//dd")
        numbers = [_short_count(dd.text_content()) for dd in meta_cell]
        threads.append(
            ThreadRef(
                url=urljoin(page_url, link.get("href").strip()),
                title=clean(link.text_content()),
                last_post_at=_latest_time(item, tz),
                replies=numbers[0] if numbers else None,
                views=numbers[1] if len(numbers) > 1 else None,
            )
        )
    return threads, _next_url(root, page_url)


def _next_url(root: Any, page_url: str) -> str | None:
    hrefs = root.xpath(f"//a[{_cls('pageNav-jump--next')}]/@href")
    return urljoin(page_url, hrefs[0].strip()) if hrefs else None


def _page_links(root: Any, page_url: str) -> dict[int, str]:
    pages: dict[int, str] = {}
    for a in root.xpath(f"//*[{_cls('pageNav-main')}]//a[@href]"):
        label = clean(a.text_content())
        if label.isdigit():
            pages[int(label)] = urljoin(page_url, a.get("href").strip())
    return pages


def _post(article: Any, page_url: str, tz: tzinfo) -> Post | None:
    ident = article.get("data-content") or article.get("id") or ""
    match = _POST_ID_RE.search(ident)
    bodies = article.xpath(f".//*[{_cls('bbWrapper')}]")
    # Deleted and moderated posts have no body.
    if match is None or not bodies:
        return None
    body = bodies[0]
    quoted: list[str] = []
    for quote in body.xpath(f".//blockquote[{_cls('bbCodeBlock--quote')}]"):
        if quote.get("data-quote"):
            quoted.append(clean(quote.get("data-quote")))
        quote.drop_tree()
    for junk in body.xpath(
        ".//script | .//style | " + " | ".join(f".//*[{_cls(c)}]" for c in _DROP_CLASSES)
    ):
        junk.drop_tree()
    times = article.xpath(f".//time[{_cls('u-dt')}]")
    author = article.get("data-author") or "".join(
        article.xpath(f"(.//*[{_cls('message-name')}])[1]//text()")
    )
    links = article.xpath(f".//*[{_cls('message-attribution')}]//a[contains(@href, 'post')]/@href")
    return Post(
        post_id=match.group(1),
        author=clean(author) or None,
        published_at=element_time(times[0], tz) if times else None,
        text=_text(body),
        quoted=quoted,
        permalink=urljoin(page_url, links[0].strip()) if links else None,
    )


def parse_thread(root: Any, page_url: str, tz: tzinfo) -> ThreadPage:
    """Title, posts and paging of one thread page."""
    title = ""
    for h1 in root.xpath(f"//h1[{_cls('p-title-value')}]")[:1]:
        for label in h1.xpath(f".//*[{_cls('label')} or {_cls('label-append')}]"):
            label.drop_tree()
        title = clean(h1.text_content())
    posts = [
        p
        for article in root.xpath(f"//article[{_cls('message')}]")
        if (p := _post(article, page_url, tz)) is not None
    ]
    return ThreadPage(title, posts, _next_url(root, page_url), _page_links(root, page_url))
