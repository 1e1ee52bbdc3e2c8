"""XenForo-style forums: the thread list (paged) and each thread's posts (paged). A thread's
first post is its document (kind "post"); replies are comments linked to it. Quotes are cut
out of post text, so a reply holds only what its own author wrote."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import lxml.etree
import lxml.html

from core.models import Source
from core.settings import Settings
from core.text import clean
from crawlers.connectors.base import CrawlOutput, FetchedItem, register_connector
from crawlers.connectors.social import config_int, config_str, count, parse_time
from crawlers.http import FetchError, FetchResult, fetch
from crawlers.identity import canonical_url, document_id

log = logging.getLogger(__name__)

# Threads whose last post is older than the previous successful poll (less this margin, for
# replies written while that poll ran) have nothing new and are not fetched again.
RECHECK_MARGIN = timedelta(hours=1)
_POST_ID_RE = re.compile(r"post-(\d+)")
_THREAD_ID_RE = re.compile(r"\.(\d+)/?$")
_PAGE_RE = re.compile(r"page-(\d+)")
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


@dataclass(frozen=True)
class ForumConfig:
    """Source.config of a forum source."""

    forum_url: str
    max_pages: int
    max_threads: int
    max_thread_pages: int
    timezone: tzinfo
    incremental: bool

    @classmethod
    def from_source(cls, source: Source, settings: Settings) -> ForumConfig:
        """Read and check the config; FetchError (not retryable) names what is wrong."""
        config = source.config or {}
        zone = config.get("timezone") or settings.timezone
        try:
            tz: tzinfo = ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise FetchError(f"source config 'timezone': unknown time zone {zone!r}") from None
        return cls(
            forum_url=config_str(config, "forum_url", source.url),
            max_pages=config_int(config, "max_pages", 2, low=1, high=50),
            max_threads=config_int(config, "max_threads", 20, low=1, high=500),
            max_thread_pages=config_int(config, "max_thread_pages", 3, low=1, high=50),
            timezone=tz,
            incremental=bool(config.get("incremental", True)),
        )


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


def _pages_to_read(first: ThreadPage, budget: int) -> list[str] | None:
    """URLs of the thread's further pages within `budget` pages in all: the newest ones when
    the thread is longer (new replies land on the last page). None: follow 'next' instead."""
    if budget <= 1 or first.next_url is None:
        return []
    last = max(first.pages, default=0)
    if last <= 2 or not _PAGE_RE.search(first.pages[last]):
        return None
    numbers = range(max(2, last - budget + 2), last + 1)
    template = first.pages[last]
    return [first.pages.get(n) or _PAGE_RE.sub(f"page-{n}", template) for n in numbers]


class ForumConnector:
    """Polls one forum section: recent threads, their opening posts and replies."""

    kind = "forum"

    def fetch(self, source: Source, settings: Settings) -> CrawlOutput:
        """Threads from up to max_pages listing pages; FetchError when the listing fails."""
        cfg = ForumConfig.from_source(source, settings)
        output = CrawlOutput()
        cutoff = None
        if cfg.incremental and source.last_success_at is not None:
            cutoff = source.last_success_at - RECHECK_MARGIN
        host = urlsplit(cfg.forum_url).hostname
        refs: dict[str, ThreadRef] = {}
        page_url: str | None = cfg.forum_url
        for _page in range(cfg.max_pages):
            if page_url is None or len(refs) >= cfg.max_threads:
                break
            result = fetch(page_url, settings=settings)
            threads, page_url = parse_listing(parse_html(result), result.url, cfg.timezone)
            if not threads and not refs:
                output.errors.append(f"{result.url}: no threads found on the listing page")
            for ref in threads:
                if urlsplit(ref.url).hostname != host:
                    output.errors.append(f"{ref.url}: thread on another site, skipped")
                elif cutoff and ref.last_post_at and ref.last_post_at < cutoff:
                    continue
                else:
                    refs.setdefault(canonical_url(ref.url), ref)
            # Listings are newest first: a page with nothing new means older pages have none.
            if cutoff and all(t.last_post_at and t.last_post_at < cutoff for t in threads):
                break
        failures: list[FetchError] = []
        for ref in list(refs.values())[: cfg.max_threads]:
            try:
                output.items.extend(self._thread(ref, source, cfg, settings, output.errors))
            except FetchError as exc:
                # A busy forum asks us to slow down: stop now and come back later.
                if exc.status in (429, 503):
                    raise
                failures.append(exc)
                output.errors.append(f"thread {ref.url}: {exc}")
        if failures and len(failures) == min(len(refs), cfg.max_threads):
            raise failures[-1]
        return output

    def _thread(
        self,
        ref: ThreadRef,
        source: Source,
        cfg: ForumConfig,
        settings: Settings,
        errors: list[str],
    ) -> list[FetchedItem]:
        """The thread's document and its replies."""
        result = fetch(ref.url, settings=settings)
        first = parse_thread(parse_html(result), result.url, cfg.timezone)
        if not first.posts:
            errors.append(f"thread {ref.url}: no posts found, skipped")
            return []
        posts = list(first.posts)
        seen = {result.url}

        def read(url: str) -> ThreadPage:
            seen.add(url)
            page_result = fetch(url, settings=settings)
            page = parse_thread(parse_html(page_result), page_result.url, cfg.timezone)
            posts.extend(page.posts)
            return page

        planned = _pages_to_read(first, cfg.max_thread_pages)
        if planned is None:
            url = first.next_url
            for _page in range(cfg.max_thread_pages - 1):
                if url is None or url in seen:
                    break
                url = read(url).next_url
        else:
            for url in planned:
                if url not in seen:
                    read(url)
        opening, replies = posts[0], posts[1:]
        thread_id = document_id(canonical_url(ref.url))
        match = _THREAD_ID_RE.search(urlsplit(ref.url).path)
        meta: dict[str, Any] = {"platform": "forum", "thread_id": match and match.group(1)}
        if ref.views is not None:
            meta["views"] = ref.views
        if opening.quoted:
            meta["quoted"] = opening.quoted
        items = [
            FetchedItem(
                url=ref.url,
                title=first.title or ref.title,
                body=opening.text,
                author=opening.author,
                published_at=opening.published_at,
                native_id=opening.post_id,
                kind="post",
                comments=ref.replies if ref.replies is not None else len(replies),
                meta=meta,
            )
        ]
        done = {opening.post_id}
        for post in replies:
            # Quote-only replies have no text of their own.
            if post.post_id in done or not post.text:
                continue
            done.add(post.post_id)
            reply_meta: dict[str, Any] = {
                "platform": "forum",
                "parent": thread_id,
                "parent_url": ref.url,
            }
            if post.permalink:
                reply_meta["permalink"] = post.permalink
            if post.quoted:
                reply_meta["quoted"] = post.quoted
            items.append(
                FetchedItem(
                    url=None,
                    body=post.text,
                    author=post.author,
                    published_at=post.published_at,
                    native_id=post.post_id,
                    kind="comment",
                    meta=reply_meta,
                )
            )
        return items


register_connector("forum", ForumConnector)
