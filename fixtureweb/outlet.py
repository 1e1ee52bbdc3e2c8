"""A provincial outlet known only by its homepage, as the press catalogue lists most of them:
it offers a feed linked from the homepage ("rss"), sitemaps named in robots.txt ("robots"),
a /sitemap.xml that robots.txt does not name ("sitemap"), or nothing at all ("none"), so
source discovery can be tested on each. Articles are our own text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from html import escape

from fixtureweb.rss import FeedItem, rss_feed
from fixtureweb.serve import Reply, Site
from fixtureweb.sitemaps import urlset

MODES = ("rss", "robots", "sitemap", "none")
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class OutletArticle:
    slug: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]


ARTICLES: tuple[OutletArticle, ...] = (
    OutletArticle(
        "xa-mien-nui-khai-giang-lop-hoc-moi-1001",
        "Xã miền núi khánh thành điểm trường mới trước năm học",
        "Điểm trường bốn phòng học được bàn giao cho học sinh thôn xa trung tâm xã.",
        (
            "Sáng nay, Ủy ban nhân dân xã đã bàn giao điểm trường mới gồm bốn phòng học "
            "kiên cố, nhà vệ sinh và bếp ăn bán trú cho nhà trường.",
            "Trước đây, học sinh lớp một và lớp hai phải học nhờ trong nhà văn hóa thôn, "
            "mùa mưa thường phải nghỉ vì nước tràn qua đường.",
            "Hiệu trưởng cho biết năm học này điểm trường đón hơn sáu mươi học sinh, "
            "giáo viên được bố trí nhà công vụ ngay trong khuôn viên.",
        ),
    ),
    OutletArticle(
        "phuong-trung-tam-to-chuc-thi-hoc-sinh-gioi-1002",
        "Phường trung tâm tổ chức hội thi giáo viên dạy giỏi cấp tiểu học",
        "Hơn bốn mươi giáo viên tham gia hội thi với các tiết dạy ứng dụng công nghệ.",
        (
            "Hội thi giáo viên dạy giỏi năm nay có bốn mươi hai giáo viên của các trường "
            "tiểu học trên địa bàn phường tham gia.",
            "Ban giám khảo đánh giá cao các tiết dạy có sử dụng bảng tương tác và học liệu "
            "số do chính giáo viên biên soạn.",
        ),
    ),
    OutletArticle(
        "phu-huynh-phan-anh-thu-tien-dau-nam-1003",
        "Phụ huynh phản ánh khoản thu đầu năm học tại một trường trung học cơ sở",
        "Nhà trường cho biết sẽ rà soát và trả lại các khoản thu chưa đúng quy định.",
        (
            "Một số phụ huynh phản ánh nhà trường thu nhiều khoản ngoài quy định trong buổi "
            "họp đầu năm học.",
            "Lãnh đạo xã đã yêu cầu nhà trường báo cáo, công khai các khoản thu và trả lại "
            "những khoản chưa được phép thu.",
        ),
    ),
)


class ProvincialOutlet:
    """One outlet on 127.0.0.1 in one of MODES."""

    def __init__(self, mode: str, *, name: str = "Báo Tỉnh Thử Nghiệm", now: datetime) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode, self.name, self.now = mode, name, now
        self.site = Site(self.handle, name=f"outlet-{mode}")
        self.requests: list[str] = []

    def start(self) -> ProvincialOutlet:
        self.site.start()
        return self

    def stop(self) -> None:
        self.site.stop()

    @property
    def homepage(self) -> str:
        return self.site.base_url + "/"

    def article_url(self, article: OutletArticle) -> str:
        return f"{self.site.base_url}/giao-duc/{article.slug}.html"

    def _published(self, i: int) -> datetime:
        return self.now - timedelta(hours=3 * (i + 1))

    def handle(self, path: str, headers: Message) -> Reply:
        """The outlet's pages."""
        self.requests.append(path)
        path = path.split("?", 1)[0]
        if path == "/":
            return 200, HTML, self._homepage().encode("utf-8"), {}
        if path == "/rss/tin-moi.rss" and self.mode == "rss":
            return 200, "application/rss+xml; charset=utf-8", self._feed(), {}
        if path == "/robots.txt":
            line = f"Sitemap: {self.site.base_url}/sitemap.xml\n" if self.mode == "robots" else ""
            return 200, "text/plain", f"User-agent: *\nAllow: /\n{line}".encode(), {}
        if path == "/sitemap.xml" and self.mode in ("robots", "sitemap"):
            entries = [(self.article_url(a), self._published(i)) for i, a in enumerate(ARTICLES)]
            return 200, "application/xml", urlset(entries), {}
        for i, article in enumerate(ARTICLES):
            if path == f"/giao-duc/{article.slug}.html":
                return 200, HTML, self._article(i, article).encode("utf-8"), {}
        return 404, HTML, "<html><body><h1>Không tìm thấy</h1></body></html>".encode(), {}

    def _homepage(self) -> str:
        feed = (
            '<link rel="alternate" type="application/rss+xml" title="Tin mới" '
            'href="/rss/tin-moi.rss">'
            if self.mode == "rss"
            else ""
        )
        items = "".join(
            f'<article class="story"><h3><a href="/giao-duc/{a.slug}.html">{escape(a.title)}'
            f"</a></h3><p>{escape(a.lead)}</p></article>"
            for a in ARTICLES
        )
        return (
            f"<!doctype html><html lang=vi><head><meta charset=utf-8><title>{escape(self.name)}"
            f"</title>{feed}</head><body><header><a href='/'>{escape(self.name)}</a><nav>"
            "<a href='/thoi-su/'>Thời sự</a> <a href='/giao-duc/'>Giáo dục</a></nav></header>"
            f"<main>{items}</main><footer>Cơ quan của Đảng bộ tỉnh</footer></body></html>"
        )

    def _article(self, i: int, article: OutletArticle) -> str:
        when = self._published(i).isoformat()
        body = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
        return (
            f"<!doctype html><html lang=vi><head><meta charset=utf-8>"
            f"<title>{escape(article.title)}</title>"
            f'<meta property="article:published_time" content="{when}">'
            f'<link rel="canonical" href="{self.article_url(article)}"></head><body>'
            f"<article><h1>{escape(article.title)}</h1><time datetime='{when}'>{when}</time>"
            f"<p class='sapo'><strong>{escape(article.lead)}</strong></p>{body}</article>"
            "</body></html>"
        )

    def _feed(self) -> bytes:
        items = [
            FeedItem(
                title=a.title,
                link=self.article_url(a),
                published_at=self._published(i),
                lead=a.lead,
                paragraphs=a.paragraphs,
            )
            for i, a in enumerate(ARTICLES)
        ]
        return rss_feed(title=self.name, link=self.homepage, description="Tin mới", items=items)
