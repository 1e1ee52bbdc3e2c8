"""Fixtures of the social connector tests: fake Graph and YouTube APIs with our own Vietnamese
posts, the fixture forum, and a helper that registers a source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

# Importing a connector registers its kind (as crawlers.connectors.base does lazily).
import crawlers.connectors.facebook  # noqa: F401
import crawlers.connectors.forum  # noqa: F401
import crawlers.connectors.youtube  # noqa: F401
from core.models import Document, Source
from tests.crawlers.conftest import LocalServer
from tests.crawlers.social.fakeapis import FakeGraph, GraphPost
from tests.crawlers.social.fakeforum import FakeForum, ForumPost, ForumThread, quote
from tests.crawlers.social.fakeyoutube import FakeYouTube, YouTubeVideo

PAGE_ID = "104857600123"
PAGE_TOKEN = "EAAGm0PX4ZCpsBAtrangSoGDDTtoken"
CHANNEL_ID = "UCa1b2c3d4e5f6g7h8i9j0kL"
API_KEY = "AIzaSyD-khoa-thu-nghiem-sogddt"


def add_source(session: Session, kind: str, url: str, config: dict[str, Any]) -> Source:
    """Register a source of `kind` and commit (the crawl takes its own transactions)."""
    source = Source(name=f"Nguồn {kind}", kind=kind, url=url, scope="social", config=config)
    session.add(source)
    session.commit()
    return source


def documents(session: Session, kind: str | None = None) -> list[Document]:
    """Stored documents (of one kind), fresh from the database."""
    session.expire_all()
    stmt = select(Document).order_by(Document.published_at, Document.id)
    if kind:
        stmt = stmt.where(Document.kind == kind)
    return list(session.scalars(stmt))


def _fb_comment(cid: str, text: str, at: str, name: str, likes: int = 0) -> dict[str, Any]:
    return {
        "id": cid,
        "message": text,
        "created_time": at,
        "from": {"name": name, "id": f"10009{len(name):04d}"},
        "like_count": likes,
    }


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """A fake Graph API with five page posts (one photo-only) and their comments."""
    fake = FakeGraph(PAGE_ID, PAGE_TOKEN)
    p = f"{PAGE_ID}_90000000000000"
    fake.posts = [
        GraphPost(
            f"{p}5",
            "THÔNG BÁO: Lịch thi tuyển sinh vào lớp 10 năm học 2025-2026\n"
            "Kỳ thi diễn ra trong hai ngày 3 và 4/6/2025. Thí sinh có mặt tại điểm thi "
            "trước 7 giờ sáng, mang theo giấy báo dự thi và căn cước.",
            "2025-05-20T02:30:00+0000",
            reactions=215,
            shares=48,
            comments=[
                _fb_comment(
                    "900000000000005_111",
                    "Cho em hỏi thí sinh tự do có được đăng ký dự thi không ạ?",
                    "2025-05-20T03:01:00+0000",
                    "Nguyễn Thị Hoa",
                    4,
                ),
                _fb_comment(
                    "900000000000005_112",
                    "Con tôi làm mất giấy báo dự thi thì xin cấp lại ở đâu?",
                    "2025-05-20T04:12:00+0000",
                    "Trần Văn Bình",
                    1,
                ),
                _fb_comment("900000000000005_113", "", "2025-05-20T04:30:00+0000", "Lý Hà"),
                _fb_comment(
                    "900000000000005_114",
                    "Mong Sở công bố sớm điểm chuẩn để các cháu yên tâm ôn tập.",
                    "2025-05-20T05:45:00+0000",
                    "Võ Thị Mai",
                    9,
                ),
            ],
        ),
        GraphPost(f"{p}4", None, "2025-05-18T09:00:00+0000", reactions=80),
        GraphPost(
            f"{p}3",
            "Chúc mừng 25 học sinh của tỉnh đoạt giải kỳ thi chọn học sinh giỏi quốc gia, "
            "trong đó có 2 giải Nhất môn Tin học và Hóa học.",
            "2025-05-15T01:00:00+0000",
            reactions=512,
            shares=61,
            comments=[
                _fb_comment(
                    "900000000000003_201",
                    "Tự hào quá, chúc mừng các em và thầy cô!",
                    "2025-05-15T02:00:00+0000",
                    "Đặng Quốc Huy",
                    12,
                ),
                _fb_comment(
                    "900000000000003_202",
                    "Trường chuyên tỉnh mình năm nào cũng có giải, giỏi thật.",
                    "2025-05-15T03:20:00+0000",
                    "Phan Thanh Tâm",
                ),
            ],
        ),
        GraphPost(
            f"{p}2",
            "Sở GD&ĐT đề nghị các trường không thu các khoản ngoài quy định đầu năm học; "
            "phụ huynh phát hiện sai phạm xin phản ánh qua đường dây nóng của Sở.",
            "2025-05-10T08:00:00+0000",
            reactions=97,
            shares=30,
        ),
        GraphPost(
            f"{p}1",
            "Hướng dẫn đăng ký tuyển sinh đầu cấp trực tuyến: truy cập cổng dịch vụ công, "
            "chọn trường, nộp hồ sơ trước ngày 15/7.",
            "2025-05-02T00:15:00+0000",
            reactions=40,
            shares=12,
            comments=[
                _fb_comment(
                    "900000000000001_301",
                    "Cổng đăng ký hay bị lỗi vào buổi tối, Sở kiểm tra giúp.",
                    "2025-05-02T13:40:00+0000",
                    "Bùi Ngọc Lan",
                    3,
                )
            ],
        ),
    ]
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def _yt_comment(cid: str, text: str, at: str, author: str, likes: int = 0) -> dict[str, Any]:
    return {"id": cid, "text": text, "published_at": at, "author": author, "likes": likes}


@pytest.fixture
def youtube() -> Iterator[FakeYouTube]:
    """A fake Data API v3 with five uploads: one private, one with comments turned off."""
    fake = FakeYouTube(CHANNEL_ID, API_KEY)
    fake.videos = [
        YouTubeVideo(
            "hS3aK9pQx1A",
            "Bản tin giáo dục tuần 20: tuyển sinh lớp 10 và những điều cần biết",
            "Bản tin tổng hợp hoạt động của ngành giáo dục tỉnh trong tuần.\n"
            "Phụ huynh theo dõi lịch thi và hướng dẫn nộp hồ sơ.",
            "2025-05-21T11:00:00Z",
            views=1520,
            likes=34,
            comments=[
                _yt_comment(
                    "UgxA1",
                    "Cảm ơn Sở, bản tin rất dễ hiểu.",
                    "2025-05-21T12:00:00Z",
                    "@phuhuynhlop9",
                    5,
                ),
                _yt_comment(
                    "UgxA2",
                    "Năm nay có thi môn thứ tư không ạ?",
                    "2025-05-21T13:30:00Z",
                    "@hocsinhchamchi",
                    2,
                ),
                _yt_comment(
                    "UgxA3",
                    "Nên có phụ đề cho người khiếm thính.",
                    "2025-05-22T01:10:00Z",
                    "@codonghanh",
                ),
            ],
        ),
        YouTubeVideo(
            "Zt7Lm2Nq8Rb",
            "Lễ tuyên dương học sinh giỏi cấp quốc gia năm 2025",
            "Toàn cảnh buổi lễ tuyên dương tại hội trường tỉnh.",
            "2025-05-16T08:00:00Z",
            views=640,
            likes=51,
            comments_disabled=True,
        ),
        YouTubeVideo("Pv0000000aa", "Video nội bộ", "", "2025-05-12T08:00:00Z", private=True),
        YouTubeVideo(
            "Kx4Yb6Wc2Ud",
            "Hướng dẫn ôn thi môn Toán lớp 9 – phần hình học",
            "Thầy giáo trường THCS Lê Lợi hướng dẫn các dạng bài thường gặp.",
            "2025-05-08T10:00:00Z",
            views=890,
            likes=21,
            comments=[
                _yt_comment(
                    "UgxB1",
                    "Thầy giảng hay quá, mong có thêm phần đại số.",
                    "2025-05-08T15:00:00Z",
                    "@toan9",
                    7,
                ),
            ],
        ),
        YouTubeVideo(
            "Qe9Rt1Yu3Io",
            "Hội nghị tổng kết năm học 2024-2025",
            "Sở GD&ĐT tổng kết năm học và triển khai nhiệm vụ năm học mới.",
            "2025-05-05T02:00:00Z",
            views=300,
            likes=5,
        ),
    ]
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def _post(pid: int, author: str, local: str, body: str, style: str = "epoch") -> ForumPost:
    return ForumPost(pid, author, datetime.fromisoformat(local), body, style)


def build_forum() -> FakeForum:
    """Two listing pages; a sticky thread, a two-page thread with quotes, a long thread."""
    lich_hop = ForumThread(
        1001,
        "lich-hop-phu-huynh-dau-nam",
        "Lịch họp phụ huynh đầu năm học",
        [
            [
                _post(
                    1101,
                    "Ban quản trị",
                    "2024-09-05T08:00:00",
                    "Các trường tổ chức họp phụ huynh từ ngày 15 đến 30/9.",
                ),
                _post(
                    1102,
                    "Ngô Thị Hằng",
                    "2024-09-05T09:30:00",
                    "Họp buổi tối thì tốt cho phụ huynh đi làm.",
                ),
            ]
        ],
        prefix="Thông báo",
        sticky=True,
        views="1,2K",
    )
    hoc_them = ForumThread(
        1002,
        "hoc-them-o-truong-co-bat-buoc-khong",
        "Học thêm ở trường có bắt buộc không?",
        [
            [
                _post(
                    2001,
                    "Phạm Minh Tuấn",
                    "2024-09-10T20:15:00",
                    "Trường con tôi thông báo học thêm buổi chiều, mỗi tháng đóng 400.000 "
                    "đồng.<br />\nXin hỏi các phụ huynh: việc này có bắt buộc không?",
                ),
                _post(
                    2002,
                    "Lê Thu Trang",
                    "2024-09-10T21:40:00",
                    "Theo quy định hiện hành, học thêm trong trường phải hoàn toàn tự nguyện "
                    "và có đơn đăng ký của phụ huynh.",
                    "offset",
                ),
                _post(
                    2003,
                    "Hoàng Văn Nam",
                    "2024-09-11T06:05:00",
                    "Nhà tôi cũng nhận được phiếu đăng ký. Tôi không ký thì cô giáo nhắc mãi.",
                    "naive",
                ),
            ],
            [
                _post(
                    2010,
                    "Phạm Minh Tuấn",
                    "2024-09-11T19:00:00",
                    quote(
                        "Lê Thu Trang",
                        2002,
                        "Theo quy định hiện hành, học thêm trong trường phải hoàn toàn tự nguyện.",
                    )
                    + "Cảm ơn chị. Tôi sẽ gửi phản ánh lên Phòng Giáo dục.",
                ),
                _post(
                    2011,
                    "Đỗ Quỳnh Anh",
                    "2024-09-12T07:30:00",
                    quote("Hoàng Văn Nam", 2003, "Tôi không ký thì cô giáo nhắc mãi."),
                ),
            ],
        ],
        views="356",
    )
    chon_truong = ForumThread(
        1003,
        "kinh-nghiem-chon-truong-thcs",
        "Xin kinh nghiệm chọn trường THCS cho con",
        [
            [
                _post(
                    3001,
                    "Trịnh Gia Bảo",
                    "2024-09-08T22:10:00",
                    "Nhà tôi ở phường Đông, nên chọn trường gần nhà hay trường có tiếng?",
                )
            ]
        ],
    )
    ban_tru = ForumThread(
        1004,
        "gop-y-bep-an-ban-tru",
        "Góp ý về bếp ăn bán trú",
        [
            [
                _post(
                    4001,
                    "Mai Anh Đào",
                    "2024-08-28T12:00:00",
                    "<p>Bữa trưa hôm qua của lớp 2A chỉ có rau và canh.</p>"
                    "<p>Mong nhà trường công khai thực đơn hằng tuần.</p>",
                ),
                _post(
                    4002,
                    "Kiều Văn Lực",
                    "2024-08-28T13:15:00",
                    "Có người dán đoạn mã &lt;script&gt;alert(1)&lt;/script&gt; vào nhóm Zalo "
                    "của lớp, mọi người cẩn thận.<script>window.demLuotXem(4002)</script>",
                ),
                _post(
                    4003,
                    "Mai Anh Đào",
                    "2024-08-28T18:45:00",
                    "Cảm ơn anh đã nhắc, tôi đã báo cô chủ nhiệm.",
                ),
            ]
        ],
    )
    dai = ForumThread(
        1005,
        "tong-hop-cau-hoi-tuyen-sinh-lop-6",
        "Tổng hợp câu hỏi tuyển sinh lớp 6",
        [
            [
                _post(
                    5001,
                    "Ban quản trị",
                    "2024-08-01T08:00:00",
                    "Mọi câu hỏi về tuyển sinh lớp 6 xin gửi vào đây.",
                )
            ],
            [
                _post(
                    5002,
                    "Vương Lan",
                    "2024-08-02T08:00:00",
                    "Hồ sơ cần bản sao giấy khai sinh không?",
                )
            ],
            [_post(5003, "Tạ Minh", "2024-08-03T08:00:00", "Có xét tuyển theo học bạ không ạ?")],
            [_post(5004, "Ban quản trị", "2024-08-04T08:00:00", "Năm nay xét học bạ, không thi.")],
        ],
    )
    return FakeForum([[lich_hop, hoc_them, chon_truong], [ban_tru, dai]])


@pytest.fixture
def forum(server: LocalServer) -> tuple[FakeForum, str]:
    """The fixture forum on the local server and its section URL."""
    fake = build_forum()
    return fake, fake.install(server)
