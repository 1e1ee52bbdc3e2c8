"""Fixtures of the scaled path: a real redis-server for the session, settings that use it as
the Celery broker, and small RSS feeds on a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.celery_app import reset_pools
from core.settings import Settings
from fixtureweb.rss import FeedItem
from fixtureweb.rss import rss_feed as build_feed
from tests.conftest import use_broker
from tests.crawlers.conftest import server  # noqa: F401 (a fixture used by these tests)
from tests.scale.services import RedisServer, running_redis

# Short, so a killed worker's task is handed out again within seconds (production: an hour).
VISIBILITY_TIMEOUT_S = 4


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server on a free loopback port for the whole session (the scale tests kill
    and restart it, so it is not the suite's broker)."""
    with running_redis(tmp_path_factory, "redis") as srv:
        yield srv


@pytest.fixture
def redis_settings(
    settings: Settings, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The test settings with Redis as the Celery broker (emptied first)."""
    redis_server.client().flushall()
    monkeypatch.setenv("DIEMTIN_REDIS_VISIBILITY_TIMEOUT_S", str(VISIBILITY_TIMEOUT_S))
    yield use_broker(monkeypatch, redis_server.url)
    reset_pools()


# Five unlike stories (our own words), so items of different stories never cluster together.
STORIES = [
    (
        "học phí",
        "Phụ huynh một trường tiểu học phản ánh các khoản thu đầu năm vượt mức "
        "quy định, nhà trường hứa sẽ trả lại tiền thừa trong tuần tới.",
    ),
    (
        "sách giáo khoa",
        "Nhiều nhà sách ở thành phố thiếu bộ sách lớp một mới, cha mẹ học "
        "sinh phải đặt mua trên mạng và chờ gần hai tuần.",
    ),
    (
        "bán trú",
        "Bữa ăn bán trú của một trường mầm non bị chê ít thịt, ban đại diện "
        "cha mẹ đề nghị công khai thực đơn và giá từng suất.",
    ),
    (
        "thi cử",
        "Sở công bố lịch thi tuyển sinh vào lớp mười, năm nay thêm môn thứ tư "
        "do địa phương chọn và tăng chỉ tiêu trường chuyên.",
    ),
    (
        "bạo lực học đường",
        "Một nam sinh lớp tám bị nhóm bạn đánh trước cổng trường, "
        "clip lan truyền trên mạng xã hội khiến dư luận bức xúc.",
    ),
]


def rss_feed(n: int, prefix: str) -> bytes:
    """An RSS 2.0 feed of `n` Vietnamese education items (item i tells story i mod 5)."""
    items = [
        FeedItem(
            title=f"Tin {prefix} số {i}: chuyện trường lớp về {STORIES[i % 5][0]}",
            link=f"https://baomau.example.vn/{prefix}/bai-{i}.html",
            guid=False,
            published_at=f"Mon, 09 Sep 2024 0{i % 10}:00:00 +0700",
            lead=f"{STORIES[i % 5][1]} Bài {prefix} số {i}.",
        )
        for i in range(n)
    ]
    return build_feed(
        title="Báo mẫu", link="https://baomau.example.vn/", description="", items=items
    )


RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ROOT = Path(__file__).resolve().parents[2]
