"""The sources a fresh install watches, and adding a source with its URL checked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Source
from core.settings import Settings, get_settings
from crawlers.connectors.base import registered_kinds
from crawlers.http import BlockedURLError, FetchError, check_public_url

log = logging.getLogger(__name__)

SCOPES = ("local", "national", "social")
# Real outlets are polled at most once a minute; the demo site is registered directly.
MIN_POLL_INTERVAL_S = 60
MAX_NAME = 200
MAX_URL = 2000


@dataclass(frozen=True)
class SourceSpec:
    """A source to create on a fresh install."""

    name: str
    url: str
    scope: str = "national"
    kind: str = "rss"


# Education sections of national outlets. Local papers differ per province; these two are
# examples of the "local" scope that an admin replaces with the province's own.
DEFAULT_SOURCES: list[SourceSpec] = [
    SourceSpec("VnExpress – Giáo dục", "https://vnexpress.net/rss/giao-duc.rss"),
    SourceSpec("Tuổi Trẻ – Giáo dục", "https://tuoitre.vn/rss/giao-duc.rss"),
    SourceSpec("Thanh Niên – Giáo dục", "https://thanhnien.vn/rss/giao-duc.rss"),
    SourceSpec("Dân trí – Giáo dục", "https://dantri.com.vn/rss/giao-duc.rss"),
    SourceSpec("VietNamNet – Giáo dục", "https://vietnamnet.vn/rss/giao-duc.rss"),
    SourceSpec("Giáo dục và Thời đại", "https://giaoducthoidai.vn/rss/home.rss"),
    SourceSpec("Lao Động – Giáo dục", "https://laodong.vn/rss/giao-duc.rss"),
    SourceSpec("Người Lao Động – Giáo dục", "https://nld.com.vn/rss/giao-duc-khoa-hoc.rss"),
    SourceSpec("VTC News – Giáo dục", "https://vtcnews.vn/rss/giao-duc.rss"),
    SourceSpec("Tiền Phong – Giáo dục", "https://tienphong.vn/rss/giao-duc-71.rss"),
    SourceSpec("Nhân Dân – Giáo dục", "https://nhandan.vn/rss/giaoduc-1303.rss"),
    SourceSpec("Báo Đà Nẵng", "https://baodanang.vn/rss/home.rss", scope="local"),
    SourceSpec("Hà Nội Mới", "https://hanoimoi.vn/rss/home.rss", scope="local"),
]


def ensure_default_sources(session: Session, *, settings: Settings | None = None) -> list[Source]:
    """Create the default sources that are missing (by name) and commit; returns the new ones.

    Existing sources are left as they are: an admin may have edited or disabled them."""
    settings = settings or get_settings()
    existing = set(session.scalars(select(Source.name)))
    created = []
    for spec in DEFAULT_SOURCES:
        if spec.name in existing:
            continue
        source = Source(
            name=spec.name,
            url=spec.url,
            kind=spec.kind,
            scope=spec.scope,
            poll_interval_s=settings.default_poll_interval_s,
            next_poll_at=None,
        )
        session.add(source)
        created.append(source)
    session.commit()
    return created


def validate_source_url(url: str, *, settings: Settings) -> str:
    """The stripped URL, or ValueError (Vietnamese message) when it may not be crawled."""
    url = (url or "").strip()
    if not url:
        raise ValueError("Vui lòng nhập địa chỉ (URL) của nguồn tin.")
    if len(url) > MAX_URL:
        raise ValueError(f"Địa chỉ quá dài (tối đa {MAX_URL} ký tự).")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError(f"Địa chỉ không hợp lệ: {url}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("Địa chỉ phải bắt đầu bằng http:// hoặc https:// và có tên miền.")
    try:
        check_public_url(url, settings.private_networks)
    except BlockedURLError:
        raise ValueError(
            "Địa chỉ trỏ tới mạng nội bộ hoặc địa chỉ đặc biệt; hệ thống không thu thập "
            "từ những địa chỉ này."
        ) from None
    except FetchError as exc:
        # DNS may be down for a moment; the crawl re-checks every time and marks the
        # source failing if the name never resolves.
        log.info("accepting %s although it does not resolve now: %s", url, exc)
    return url


def add_source(
    session: Session,
    *,
    name: str,
    url: str,
    kind: str = "rss",
    poll_interval_s: int | None = None,
    scope: str = "national",
    settings: Settings,
) -> Source:
    """Validate and create a source (committed); ValueError carries a Vietnamese message."""
    name = (name or "").strip()
    if not name:
        raise ValueError("Vui lòng nhập tên nguồn tin.")
    if len(name) > MAX_NAME:
        raise ValueError(f"Tên nguồn quá dài (tối đa {MAX_NAME} ký tự).")
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise ValueError(f"Đã có nguồn tin tên «{name}».")
    if kind not in registered_kinds():
        raise ValueError(f"Chưa hỗ trợ loại nguồn «{kind}».")
    if scope not in SCOPES:
        raise ValueError("Phạm vi phải là một trong: local, national, social.")
    interval = settings.default_poll_interval_s if poll_interval_s is None else poll_interval_s
    if interval < MIN_POLL_INTERVAL_S:
        raise ValueError(f"Chu kỳ quét phải từ {MIN_POLL_INTERVAL_S} giây trở lên.")
    url = validate_source_url(url, settings=settings)
    source = Source(
        name=name,
        url=url,
        kind=kind,
        scope=scope,
        poll_interval_s=interval,
        next_poll_at=None,
    )
    session.add(source)
    session.commit()
    return source
