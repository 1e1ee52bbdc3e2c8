"""A tiny outlet on the local test server: an RSS feed of summaries and the article pages it
links to, both rendered from mutable state so a test can edit or remove an article between
polls. The markup is ours (sapo paragraph, canonical link, published meta)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from sqlalchemy.orm import Session

from core.models import Source
from fixtureweb.rss import FeedItem, rss_feed
from tests.crawlers.conftest import LocalServer, Reply

FEED_PATH = "/rss/giao-duc.rss"
PAGE_DATE = "2026-12-04T08:00:00+07:00"


@dataclass
class Article:
    """One article as the outlet publishes it."""

    path: str
    title: str
    lead: str
    paragraphs: list[str]
    # The feed's <pubDate>, written as the outlet writes it.
    pub_date: str = "Fri, 04 Dec 2026 08:00:00 +0700"
    # Where the page's <link rel=canonical> points (a path), if anywhere.
    canonical: str | None = None
    # The page's HTTP status (404/410: taken down).
    status: int = 200
    # The feed's summary, when it differs from the page's sapo.
    summary: str | None = None


@dataclass
class Newsroom:
    """The outlet: articles in feed order, served by `server`."""

    server: LocalServer
    articles: list[Article] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.route(FEED_PATH, lambda _h: Reply(body=self.feed(), headers=_XML))

    def add(self, article: Article) -> Article:
        self.articles.append(article)
        self.server.route(article.path, lambda _h, a=article: self._page(a))
        return article

    def feed(self) -> bytes:
        return rss_feed(
            title="Báo Thử nghiệm",
            link=self.server.url("/"),
            description="Tin giáo dục",
            items=[
                FeedItem(
                    title=a.title,
                    link=self.server.url(a.path),
                    guid=a.path,
                    published_at=a.pub_date,
                    lead=a.summary or a.lead,
                )
                for a in self.articles
            ],
        )

    def _page(self, a: Article) -> Reply:
        if a.status != 200:
            return Reply(
                a.status, "<html><body><h1>Không tìm thấy trang</h1></body></html>".encode()
            )
        canonical = (
            f'<link rel="canonical" href="{self.server.url(a.canonical)}">' if a.canonical else ""
        )
        body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
        html = (
            f'<html lang="vi"><head><meta charset="utf-8"><title>{escape(a.title)}</title>'
            f'{canonical}<meta property="article:published_time" content="{PAGE_DATE}">'
            '</head><body><nav><a href="/">Trang chủ</a></nav>'
            f'<article><h1>{escape(a.title)}</h1><p class="sapo">{escape(a.lead)}</p>{body}'
            "</article><footer>Bản quyền thuộc về Báo Thử nghiệm.</footer></body></html>"
        )
        return Reply(body=html.encode(), headers={"Content-Type": "text/html; charset=utf-8"})

    def page_hits(self, path: str | None = None) -> int:
        """Requests for article pages (or for one page)."""
        return sum(
            1
            for r in self.server.requests
            if r["path"] != FEED_PATH and (path is None or r["path"] == path)
        )

    def source(self, session: Session) -> Source:
        """The feed registered as an RSS source."""
        source = Source(name="Báo Thử nghiệm", kind="rss", url=self.server.url(FEED_PATH))
        session.add(source)
        session.commit()
        return source


_XML = {"Content-Type": "application/rss+xml; charset=utf-8"}


def paragraphs(topic: str, n: int = 4) -> list[str]:
    """`n` long, distinct paragraphs about `topic` (a page body far longer than a summary)."""
    lines = [
        "Sáng nay, Sở Giáo dục và Đào tạo tổ chức hội nghị về {t} với sự tham dự của đại diện "
        "các phòng giáo dục, hiệu trưởng các trường trung học và nhiều phụ huynh học sinh.",
        "Theo báo cáo, việc triển khai {t} trong học kỳ một đã đạt nhiều kết quả, song các "
        "trường vùng khó khăn vẫn thiếu giáo viên và thiết bị dạy học tối thiểu.",
        "Giám đốc Sở đề nghị các đơn vị rà soát kế hoạch {t}, báo cáo khó khăn trước ngày "
        "mười lăm hằng tháng để Sở kịp thời tháo gỡ và hỗ trợ.",
        "Nhiều đại biểu kiến nghị tăng kinh phí cho {t}, đồng thời đơn giản hóa thủ tục để "
        "nhà trường chủ động hơn trong việc tổ chức các hoạt động.",
        "Kết thúc hội nghị, Sở khen thưởng các tập thể và cá nhân có thành tích xuất sắc "
        "trong {t}, trong đó có nhiều giáo viên ở huyện miền núi.",
    ]
    return [line.format(t=topic) for line in lines[:n]]
