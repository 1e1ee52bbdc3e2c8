"""The three fixture papers, each in the style of a real Vietnamese news site. They differ
where real sites differ: where the lead, the author and the publish time live, how dates are
written, how captions and related links are marked up, and how listings link."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Protocol

from fixtureweb.articles import FixtureArticle
from fixtureweb.markup import (
    Links,
    breadcrumb,
    canonical_link,
    comments_box,
    esc,
    local,
    page_html,
    paragraphs_html,
    related_box,
    sidebar,
)

WEEKDAYS = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")


class Paper(Protocol):
    """One fixture paper's URLs and markup."""

    key: str
    name: str
    # The Source.config selectors that find its listing's article links and next page.
    article_selector: str
    next_selector: str

    def article_path(self, article: FixtureArticle) -> str:
        """The path of an article page."""
        ...

    def listing_path(self, page: int) -> str:
        """The path of listing page `page` (from 1)."""
        ...

    def render_article(
        self,
        a: FixtureArticle,
        links: Links,
        related: list[FixtureArticle],
        originals: dict[str, FixtureArticle],
    ) -> str:
        """The HTML of an article page."""
        ...

    def render_listing(self, items: str, page: int, pages: int) -> str:
        """The HTML of a listing page around its items."""
        ...

    def listing_href(self, url: str, base_url: str) -> str:
        """How a listing writes the link to `url`."""
        ...

    def listing_item(self, title: str, href: str) -> str:
        """One listing entry."""
        ...


class PaperA:
    """'Báo Hòa Bình Xanh': VnExpress-like; date only as visible text
    ("Thứ hai, 20/11/2023, 08:15 (GMT+7)"), lead in p.description, author at the end."""

    key = "baoA"
    name = "Báo Hòa Bình Xanh"
    article_selector = "article.item-news h3.title-news a"
    next_selector = "a.next-page"

    def article_path(self, article: FixtureArticle) -> str:
        return article.path or f"/giao-duc/{article.slug}-{article.number}.html"

    def listing_path(self, page: int) -> str:
        return "/giao-duc" if page == 1 else f"/giao-duc-p{page}"

    def shown_date(self, moment: datetime) -> str:
        lt = local(moment)
        return f"{WEEKDAYS[lt.weekday()]}, {lt:%d/%m/%Y, %H:%M} (GMT+7)"

    def render_article(
        self,
        a: FixtureArticle,
        links: Links,
        related: list[FixtureArticle],
        originals: dict[str, FixtureArticle],
    ) -> str:
        head = (
            f'<meta name="description" content="{esc(a.lead)}">\n'
            f'<meta property="og:title" content="{esc(a.title)} - {esc(self.name)}">\n'
            f'<meta property="og:site_name" content="{esc(self.name)}">\n'
            f'<meta property="og:description" content="{esc(a.lead)}">\n'
            f"{canonical_link(a, links, originals)}"
        )
        figure = (
            f'<figure class="tplCaption"><img src="/img/{a.number}.jpg" alt="{esc(a.alt)}">'
            f'<figcaption><p class="Image">{esc(a.caption)}</p></figcaption></figure>\n'
            if a.caption
            else ""
        )
        author = (
            f'<p class="author_mail"><strong>{esc(a.author)}</strong></p>\n' if a.author else ""
        )
        body = (
            f"{breadcrumb(a.section)}<section class='section page-detail'>"
            f'<div class="sidebar-1"><div class="header-content">'
            f'<span class="date">{self.shown_date(a.published_at)}</span></div>\n'
            f'<h1 class="title-detail">{esc(a.title)}</h1>\n'
            f'<p class="description">{esc(a.lead)}</p>\n'
            f'<article class="fck_detail">\n{paragraphs_html(a, "<p class=Normal>", figure)}'
            f"{author}</article>\n"
            f"{related_box(related, links, 'box-tinlienquan related-news')}"
            f"{comments_box(a)}</div>\n"
            f"{sidebar(related, links)}</section>\n"
        )
        return page_html(
            site_name=self.name,
            title=f"{a.title} - {self.name}",
            head=head,
            body=body,
            meta_charset=False,
        )

    def render_listing(self, items: str, page: int, pages: int) -> str:
        nav = (
            f'<div class="pagination"><a class="btn-page next-page" '
            f'href="{self.listing_path(page + 1)}">Trang sau</a></div>'
            if page < pages
            else ""
        )
        body = f'<div class="list-news">{items}</div>{nav}\n'
        return page_html(
            site_name=self.name,
            title=f"Giáo dục - {self.name}",
            head="",
            body=body,
            meta_charset=False,
        )

    def listing_href(self, url: str, base_url: str) -> str:
        return url

    def listing_item(self, title: str, href: str) -> str:
        return (
            f'<article class="item-news"><h3 class="title-news"><a href="{esc(href)}">'
            f"{esc(title)}</a></h3></article>\n"
        )


class PaperB:
    """'Tin Nhanh Bến Nghé': Tuổi Trẻ-like; date "20-11-2023 08:15", JSON-LD author,
    h2.detail-sapo lead, a shortened og:description, listing links with '?ref='."""

    key = "baoB"
    name = "Tin Nhanh Bến Nghé"
    article_selector = "div.box-category-item a.box-category-link-title"
    next_selector = "div.pagination a[rel=next]"

    def article_path(self, article: FixtureArticle) -> str:
        return article.path or f"/giao-duc/{article.slug}-{article.number}.htm"

    def listing_path(self, page: int) -> str:
        return "/tin-moi.htm" if page == 1 else f"/tin-moi/trang-{page}.htm"

    def shown_date(self, moment: datetime) -> str:
        return f"{local(moment):%d-%m-%Y %H:%M}"

    def render_article(
        self,
        a: FixtureArticle,
        links: Links,
        related: list[FixtureArticle],
        originals: dict[str, FixtureArticle],
    ) -> str:
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": a.title,
            "author": {"@type": "Person", "name": a.author} if a.author else None,
            "publisher": {"@type": "Organization", "name": self.name},
        }
        short = a.lead[:80].rsplit(" ", 1)[0] + "..."
        # "</" inside a script element would end it early.
        ld_json = json.dumps(ld, ensure_ascii=False).replace("</", "<\\/")
        head = (
            f'<meta property="og:title" content="{esc(a.title)}">\n'
            f'<meta property="og:description" content="{esc(short)}">\n'
            f"{canonical_link(a, links, originals)}"
            '<script type="application/ld+json">'
            f"{ld_json}</script>\n"
        )
        figure = (
            f'<div type="Photo" class="VCSortableInPreviewMode"><div><img src="/anh/{a.number}'
            f'.jpg" alt="{esc(a.alt)}"></div><div class="PhotoCMS_Caption"><p>{esc(a.caption)}'
            "</p></div></div>\n"
            if a.caption
            else ""
        )
        inline_related = (
            f'<div type="RelatedOneNews" class="VCSortableInPreviewMode"><a href="'
            f'{esc(links.url_of(related[0]))}">{esc(related[0].title)}</a></div>\n'
            if related
            else ""
        )
        author = (
            f'<div class="detail-author"><a class="author-name">{esc(a.author)}</a></div>\n'
            if a.author
            else ""
        )
        body = (
            f'{breadcrumb(a.section)}<div class="detail-top"><div class="detail-cate">'
            f'<a href="/giao-duc.htm">{esc(a.section)}</a></div><div class="detail-time">'
            f'<div data-role="publishdate" class="date-time">{self.shown_date(a.published_at)}'
            "</div></div></div>\n"
            f'<h1 class="detail-title article-title" data-role="title">{esc(a.title)}</h1>\n'
            f'{author}<h2 class="detail-sapo" data-role="sapo">{esc(a.lead)}</h2>\n'
            f'<div class="detail-content afcbc-body" data-role="content">\n'
            f"{paragraphs_html(a, '<p>', figure)}{inline_related}</div>\n"
            f'<div class="detail-tab"><a href="/tag/giao-duc.htm">Giáo dục</a> '
            f'<a href="/tag/hoc-sinh.htm">Học sinh</a></div>\n'
            f"{related_box(related, links, 'box-relate')}{comments_box(a)}{sidebar(related, links)}"
        )
        return page_html(
            site_name=self.name, title=a.title, head=head, body=body, meta_charset=True
        )

    def render_listing(self, items: str, page: int, pages: int) -> str:
        nav = (
            f'<div class="pagination"><a rel="next" href="{self.listing_path(page + 1)}">'
            "Xem thêm</a></div>"
            if page < pages
            else ""
        )
        body = f'<div class="list-news-content">{items}</div>{nav}\n'
        return page_html(
            site_name=self.name,
            title=f"Tin mới - {self.name}",
            head="",
            body=body,
            meta_charset=True,
        )

    def listing_href(self, url: str, base_url: str) -> str:
        # Own articles: relative links with a referral parameter that the page's canonical
        # link drops. Other sites' links stay absolute.
        if url.startswith(base_url + "/"):
            return url[len(base_url) :] + "?ref=tinmoi"
        return url

    def listing_item(self, title: str, href: str) -> str:
        return (
            f'<div class="box-category-item"><h3><a class="box-category-link-title" '
            f'href="{esc(href)}">{esc(title)}</a></h3></div>\n'
        )


class PaperC:
    """'Giáo dục Đất Xanh': GD&TĐ-like; publish time only as ISO in article:published_time,
    meta author, a sapo with an agency tag '(GDĐX) - ', captions in table.image."""

    key = "baoC"
    name = "Giáo dục Đất Xanh"
    article_selector = "ul.list-news li.news-item a.news-title"
    next_selector = "nav.pages a.next"
    agency_tag = "(GDĐX) - "

    def article_path(self, article: FixtureArticle) -> str:
        return article.path or f"/{article.slug}-post{article.number}.html"

    def listing_path(self, page: int) -> str:
        return "/giao-duc/" if page == 1 else f"/giao-duc/?page={page}"

    def render_article(
        self,
        a: FixtureArticle,
        links: Links,
        related: list[FixtureArticle],
        originals: dict[str, FixtureArticle],
    ) -> str:
        head = (
            f'<meta name="description" content="{esc(a.lead)}">\n'
            f'<meta property="og:title" content="{esc(a.title)}">\n'
            f'<meta property="article:published_time" '
            f'content="{local(a.published_at).isoformat()}">\n'
            f'<meta name="author" content="{esc(a.author)}">\n'
            f"{canonical_link(a, links, originals)}"
        )
        figure = (
            f'<table class="image center"><tbody><tr><td><img src="/media/{a.number}.jpg" '
            f'alt="{esc(a.alt)}"></td></tr><tr><td class="image-caption">{esc(a.caption)}</td>'
            "</tr></tbody></table>\n"
            if a.caption
            else ""
        )
        body = (
            f'{breadcrumb(a.section)}<div class="article">'
            f'<div class="article-header"><h1 class="article__title">{esc(a.title)}</h1>\n'
            f'<div class="article__meta"><span class="article__cate">{esc(a.section)}</span>'
            '<span class="article__views">1.234 lượt xem</span></div></div>\n'
            f'<div class="article__sapo">{esc(self.agency_tag + a.lead)}</div>\n'
            f'<div class="article__body" id="abody">\n{paragraphs_html(a, "<p>", figure)}</div>\n'
            f"{related_box(related, links, 'article__related')}</div>{comments_box(a)}"
            f"{sidebar(related, links)}"
        )
        return page_html(
            site_name=self.name,
            title=f"{a.title} | {self.name}",
            head=head,
            body=body,
            meta_charset=True,
        )

    def render_listing(self, items: str, page: int, pages: int) -> str:
        nav = (
            f'<nav class="pages"><a class="next" href="{self.listing_path(page + 1)}">'
            "Trang tiếp</a></nav>"
            if page < pages
            else ""
        )
        body = f'<ul class="list-news">{items}</ul>{nav}\n'
        return page_html(
            site_name=self.name,
            title=f"Giáo dục | {self.name}",
            head="",
            body=body,
            meta_charset=True,
        )

    def listing_href(self, url: str, base_url: str) -> str:
        # Scheme-relative links, as some CDN-fronted sites write them.
        return url.split(":", 1)[1]

    def listing_item(self, title: str, href: str) -> str:
        link = f'<a class="news-title" href="{esc(href)}">{esc(title)}</a>'
        return f'<li class="news-item">{link}</li>\n'


PAPERS: dict[str, Paper] = {p.key: p for p in (PaperA(), PaperB(), PaperC())}
