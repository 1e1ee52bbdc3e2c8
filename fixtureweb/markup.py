"""The page furniture every fixture paper shares: header navigation, breadcrumbs, ads,
related-article links, reader comments, a sidebar, the footer and inline scripts (all of
which an extractor must leave out), plus the trap pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape

from fixtureweb.articles import FixtureArticle
from fixtureweb.rss import VN_TZ

NAV = ("Thời sự", "Giáo dục", "Tuyển sinh", "Du học", "Sức khỏe", "Pháp luật", "Thể thao")


@dataclass
class Links:
    """How a page refers to other pages: absolute URLs of articles on any paper."""

    base_url: str
    url_of: Callable[[FixtureArticle], str]


def local(moment: datetime) -> datetime:
    """The moment in Vietnam's time (UTC+7, no daylight saving)."""
    return moment.astimezone(VN_TZ)


def esc(text: str) -> str:
    """HTML-escaped text."""
    return escape(text, quote=True)


def _nav(site_name: str) -> str:
    items = "".join(f'<li><a href="/{i}/">{esc(n)}</a></li>' for i, n in enumerate(NAV))
    return (
        f'<header class="site-header"><div class="logo"><a href="/">{esc(site_name)}</a></div>'
        f'<nav class="main-nav"><ul>{items}</ul></nav>'
        '<form class="search" action="/tim-kiem"><input name="q"></form></header>\n'
        '<div class="banner-ads top-banner"><a href="/qc/1">Quảng cáo: Khóa học tiếng Anh '
        "giảm 50% học phí</a></div>\n"
    )


def breadcrumb(section: str) -> str:
    """The breadcrumb trail."""
    return (
        '<ul class="breadcrumb"><li><a href="/">Trang chủ</a></li>'
        f'<li><a href="/giao-duc/">{esc(section)}</a></li></ul>\n'
    )


def _items(related: list[FixtureArticle], links: Links) -> str:
    return "".join(f'<li><a href="{esc(links.url_of(r))}">{esc(r.title)}</a></li>' for r in related)


def related_box(related: list[FixtureArticle], links: Links, cls: str) -> str:
    """A 'Tin liên quan' box of links."""
    return f'<div class="{cls}"><h3>Tin liên quan</h3><ul>{_items(related, links)}</ul></div>\n'


def comments_box(article: FixtureArticle) -> str:
    """The reader comments block."""
    items = "".join(
        f'<div class="comment-item"><span class="nickname">{esc(name)}</span>'
        f'<p class="content-comment">{esc(text)}</p><a class="reply">Trả lời</a></div>'
        for name, text in article.comments
    )
    return (
        f'<div class="box-comment" id="box_comment"><h3>Ý kiến bạn đọc '
        f"({len(article.comments)})</h3>{items}</div>\n"
    )


def sidebar(related: list[FixtureArticle], links: Links) -> str:
    """The 'Đọc nhiều' sidebar."""
    return f'<aside class="sidebar"><h3>Đọc nhiều</h3><ol>{_items(related, links)}</ol></aside>\n'


def _footer(site_name: str) -> str:
    return (
        f'<footer class="footer"><p>{esc(site_name)} – Cơ quan của Tỉnh ủy Hòa Bình Xanh. '
        "Giấy phép số 123/GP-BTTTT. Địa chỉ: 12 đường Lê Lợi, thành phố Bến Nghé. "
        "Điện thoại: 0299 3 888 999.</p><p>Ghi rõ nguồn khi phát hành lại thông tin từ "
        "website này.</p></footer>\n"
        "<script>window.dataLayer=window.dataLayer||[];dataLayer.push({'trang':'bài viết',"
        "'ghi_chu':'Mã theo dõi không phải nội dung'});</script>\n"
    )


def page_html(*, site_name: str, title: str, head: str, body: str, meta_charset: bool) -> str:
    """A whole page: head, header navigation and ads, `body`, footer and scripts."""
    charset = (
        '<meta charset="utf-8">'
        if meta_charset
        else '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    )
    return (
        f'<!DOCTYPE html>\n<html lang="vi">\n<head>\n{charset}\n'
        f"<title>{esc(title)}</title>\n{head}"
        "<style>.sidebar{float:right}</style>\n</head>\n<body>\n"
        f"{_nav(site_name)}{body}{_footer(site_name)}</body>\n</html>\n"
    )


def canonical_link(
    article: FixtureArticle, links: Links, originals: dict[str, FixtureArticle]
) -> str:
    """The <link rel=canonical> an article page carries, if any."""
    if article.canonical == "self":
        return f'<link rel="canonical" href="{esc(links.url_of(article))}">\n'
    if article.canonical == "original" and article.copy_of in originals:
        return f'<link rel="canonical" href="{esc(links.url_of(originals[article.copy_of]))}">\n'
    return ""


def paragraphs_html(article: FixtureArticle, p_open: str, figure: str) -> str:
    """The article's paragraphs with the figure after the first (broken markup if malformed)."""
    close = "" if article.malformed else "</p>"
    parts = [f"{p_open}{esc(p)}{close}\n" for p in article.paragraphs]
    if figure and parts:
        parts.insert(1, figure)
    if article.malformed:
        # Stray end tags and an unclosed <div>, as hand-edited CMS output sometimes has.
        parts.insert(len(parts) - 1, '</span></div><div class="note">\n')
    return "".join(parts)


def malformed_page() -> bytes:
    """A page with no article text at all: truncated markup and bytes that are not UTF-8."""
    return (
        b'<html><head><meta charset="utf-8"><title></title></head><body><div class="detail">'
        b'<h1></h1><div class="content"><p <p <<>> \xff\xfe\x00\x81 </div></td></body'
    )


def huge_page(size: int) -> bytes:
    """An article page of about `size` bytes (over the crawler's size limit in tests)."""
    para = "<p>Đoạn văn lặp lại để trang vượt quá giới hạn dung lượng tải về.</p>\n".encode()
    head = '<html><head><meta charset="utf-8"><title>Trang rất lớn</title></head><body>'
    return (head + "<h1>Trang rất lớn</h1>").encode() + para * (size // len(para) + 1)
