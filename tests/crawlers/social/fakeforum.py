"""A fixture XenForo 2 forum served by LocalServer: listing pages and thread pages with the
real markup (structItem, article.message, bbWrapper, quote blocks, pageNav, time.u-dt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from tests.crawlers.conftest import LocalServer, Reply

VN = ZoneInfo("Asia/Ho_Chi_Minh")
HTML = {"Content-Type": "text/html; charset=utf-8"}


@dataclass
class ForumPost:
    """One post; `local` is the forum's local time. `time_style` picks how the page gives it:
    "epoch" (datetime with offset and data-time), "offset" (datetime with +0700 only) or
    "naive" (datetime without offset: local time)."""

    id: int
    author: str
    local: datetime
    body_html: str
    time_style: str = "epoch"


@dataclass
class ForumThread:
    id: int
    slug: str
    title: str
    pages: list[list[ForumPost]]
    prefix: str | None = None
    sticky: bool = False
    views: str = "15"

    @property
    def path(self) -> str:
        return f"/threads/{self.slug}.{self.id}/"

    @property
    def posts(self) -> list[ForumPost]:
        return [p for page in self.pages for p in page]


@dataclass
class FakeForum:
    """Renders the forum section /forums/giao-duc.5/ and its threads onto a LocalServer."""

    threads_by_page: list[list[ForumThread]] = field(default_factory=list)
    listing_path: str = "/forums/giao-duc.5/"

    def install(self, server: LocalServer) -> str:
        """(Re)route every page; returns the forum URL."""
        for number, threads in enumerate(self.threads_by_page, start=1):
            path = self.listing_path + ("" if number == 1 else f"page-{number}")
            last = number == len(self.threads_by_page)
            # Relative "page-2": the crawler must resolve it against the listing URL.
            nav = _page_nav(self.listing_path, number, len(self.threads_by_page), last)
            server.route(path, Reply(body=_listing(threads, nav).encode(), headers=HTML))
        for thread in (t for page in self.threads_by_page for t in page):
            for number, posts in enumerate(thread.pages, start=1):
                path = thread.path + ("" if number == 1 else f"page-{number}")
                nav = _page_nav(thread.path, number, len(thread.pages), number == len(thread.pages))
                server.route(
                    path, Reply(body=_thread_page(thread, posts, nav).encode(), headers=HTML)
                )
        return server.url(self.listing_path)


def _time(moment: datetime, style: str, css: str = "u-dt") -> str:
    aware = moment.replace(tzinfo=VN)
    shown = aware.strftime("%d/%m/%Y lúc %H:%M")
    if style == "naive":
        return f'<time class="{css}" dir="auto" datetime="{moment.isoformat()}">{shown}</time>'
    stamp = aware.strftime("%Y-%m-%dT%H:%M:%S%z")
    epoch = f' data-time="{int(aware.timestamp())}"' if style == "epoch" else ""
    return (
        f'<time class="{css}" dir="auto" datetime="{stamp}"{epoch} '
        f'data-date-string="{aware:%d/%m/%Y}" data-time-string="{aware:%H:%M}" '
        f'title="{shown}">{shown}</time>'
    )


def _page_nav(base: str, current: int, total: int, last: bool) -> str:
    if total <= 1:
        return ""
    items = []
    for n in range(1, total + 1):
        href = base if n == 1 else f"{base}page-{n}"
        state = " pageNav-page--current" if n == current else ""
        items.append(f'<li class="pageNav-page{state}"><a href="{href}">{n}</a></li>')
    following = (
        ""
        if last
        else f'<a href="page-{current + 1}" class="pageNav-jump pageNav-jump--next">Tiếp</a>'
    )
    return (
        '<div class="block-outer"><nav class="pageNavWrapper"><div class="pageNav">'
        f'<ul class="pageNav-main">{"".join(items)}</ul>{following}</div></nav></div>'
    )


def _listing(threads: list[ForumThread], nav: str) -> str:
    rows = []
    for t in threads:
        first, latest = t.posts[0], t.posts[-1]
        prefix = (
            f'<a href="/forums/giao-duc.5/?prefix_id=2" class="labelLink" rel="nofollow">'
            f'<span class="label label--green" dir="auto">{escape(t.prefix)}</span></a> '
            if t.prefix
            else ""
        )
        sticky = " is-sticky" if t.sticky else ""
        rows.append(
            f'<div class="structItem structItem--thread{sticky} js-inlineModContainer '
            f'js-threadListItem-{t.id}" data-author="{escape(first.author)}">'
            '<div class="structItem-cell structItem-cell--icon">'
            '<div class="structItem-iconContainer">'
            f'<a href="/members/{t.id}/" class="avatar avatar--s"></a></div></div>'
            '<div class="structItem-cell structItem-cell--main" data-xf-init="touch-proxy">'
            f'<div class="structItem-title">{prefix}<a href="{t.path}" class="" '
            f'data-tp-primary="on" data-xf-init="preview-tooltip">{escape(t.title)}</a></div>'
            '<div class="structItem-minor"><ul class="structItem-parts">'
            f'<li><a href="/members/{t.id}/" class="username">{escape(first.author)}</a></li>'
            f'<li class="structItem-startDate"><a href="{t.path}" rel="nofollow">'
            f"{_time(first.local, 'epoch')}</a></li></ul></div></div>"
            '<div class="structItem-cell structItem-cell--meta" title="Điểm cảm xúc: 3">'
            f'<dl class="pairs pairs--justified"><dt>Trả lời</dt><dd>{len(t.posts) - 1}</dd></dl>'
            '<dl class="pairs pairs--justified structItem-minor"><dt>Lượt xem</dt>'
            f"<dd>{t.views}</dd></dl></div>"
            '<div class="structItem-cell structItem-cell--latest">'
            f'<a href="{t.path}latest" rel="nofollow">'
            f"{_time(latest.local, 'epoch', 'structItem-latestDate u-dt')}</a>"
            f'<div class="structItem-minor"><a href="/members/9/" class="username">'
            f"{escape(latest.author)}</a></div></div></div>"
        )
    return (
        '<!DOCTYPE html><html lang="vi-VN" data-template="forum_view"><head>'
        '<meta charset="utf-8" /><title>Giáo dục | Diễn đàn Phụ huynh</title></head><body>'
        '<div class="p-title"><h1 class="p-title-value">Giáo dục</h1></div>'
        f'{nav}<div class="block-container"><div class="block-body">'
        f'<div class="structItemContainer">{"".join(rows)}</div></div></div>{nav}</body></html>'
    )


def quote(author: str, post_id: int, text: str) -> str:
    """A XenForo quote block of another post, as it appears inside a reply's bbWrapper."""
    return (
        f'<blockquote data-attributes="member: 7" data-quote="{escape(author)}" '
        f'data-source="post: {post_id}" class="bbCodeBlock bbCodeBlock--expandable '
        'bbCodeBlock--quote js-expandWatch"><div class="bbCodeBlock-title">'
        f'<a href="/goto/post?id={post_id}" class="bbCodeBlock-sourceJump" rel="nofollow">'
        f'{escape(author)} đã viết:</a></div><div class="bbCodeBlock-content">'
        f'<div class="bbCodeBlock-expandContent js-expandContent">{escape(text)}</div>'
        '<div class="bbCodeBlock-expandLink js-expandLink"><a role="button" tabindex="0">'
        "Nhấp để mở rộng...</a></div></div></blockquote>"
    )


def _thread_page(thread: ForumThread, posts: list[ForumPost], nav: str) -> str:
    articles = []
    for p in posts:
        articles.append(
            f'<article class="message message--post js-post js-inlineModContainer" '
            f'data-author="{escape(p.author)}" data-content="post-{p.id}" id="js-post-{p.id}">'
            f'<span class="u-anchorTarget" id="post-{p.id}"></span><div class="message-inner">'
            '<div class="message-cell message-cell--user"><section class="message-user">'
            f'<h4 class="message-name"><a href="/members/{p.id}/" class="username">'
            f"{escape(p.author)}</a></h4></section></div>"
            '<div class="message-cell message-cell--main"><div class="message-main">'
            '<header class="message-attribution message-attribution--split">'
            '<ul class="message-attribution-main listInline"><li class="u-concealed">'
            f'<a href="{thread.path}post-{p.id}" rel="nofollow">{_time(p.local, p.time_style)}'
            "</a></li></ul></header>"
            '<div class="message-content js-messageContent"><div class="message-userContent">'
            f'<article class="message-body js-selectToQuote"><div class="bbWrapper">{p.body_html}'
            '</div><div class="js-selectToQuoteEnd">&nbsp;</div></article></div>'
            '<aside class="message-signature"><div class="bbWrapper">'
            "Vì con em chúng ta.</div></aside></div></div></div></div></article>"
        )
    prefix = (
        f'<span class="label label--green" dir="auto">{escape(thread.prefix)}</span>'
        '<span class="label-append">&nbsp;</span>'
        if thread.prefix
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="vi-VN" data-template="thread_view"><head>'
        f'<meta charset="utf-8" /><title>{escape(thread.title)}</title></head><body>'
        f'<div class="p-title"><h1 class="p-title-value">{prefix}{escape(thread.title)}</h1></div>'
        f'<div class="block block--messages">{nav}<div class="block-container">'
        f'<div class="block-body">{"".join(articles)}</div></div>{nav}</div>'
        '<form class="message message--quickReply"><div class="bbWrapper">Trả lời...</div></form>'
        "</body></html>"
    )
