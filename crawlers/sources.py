"""Adding and editing a source with its URL, kind, scope and province checked (a fresh
install's sources come from the press catalogue: crawlers.catalogue)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.geo.data import admin_map
from core.models import Source
from core.settings import Settings
from crawlers.connectors.base import registered_kinds
from crawlers.http import BlockedURLError, FetchError, check_public_url
from crawlers.source_config import merge_config, validate_config

log = logging.getLogger(__name__)

SCOPES = ("local", "national", "social")
# Real outlets are polled at most once a minute; the demo site is registered directly.
MIN_POLL_INTERVAL_S = 60
MAX_NAME = 200
MAX_URL = 2000


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
        check_public_url(url, settings.http.private_networks)
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


def check_province(province: str | None) -> str | None:
    """A 2025 province code as stored (None for none); ValueError for an unknown one."""
    province = (province or "").strip() or None
    if province is not None and province not in admin_map().provinces:
        raise ValueError(f"Không có tỉnh/thành mã «{province}» trên bản đồ 2025.")
    return province


def add_source(session: Session, **fields: Any) -> Source:
    """Validate and create a source, committed (the fields: `new_source`)."""
    source = new_source(session, **fields)
    session.commit()
    return source


def new_source(
    session: Session,
    *,
    name: str,
    url: str,
    kind: str = "rss",
    poll_interval_s: int | None = None,
    scope: str = "national",
    province: str | None = None,
    config: dict[str, Any] | None = None,
    settings: Settings,
) -> Source:
    """Validate a source and add it to the session (the caller commits); ValueError carries
    a Vietnamese message.

    `config` is the kind's settings (crawlers.source_config), checked before anything is
    written."""
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
    province = check_province(province)
    interval = (
        settings.crawl.default_poll_interval_s if poll_interval_s is None else poll_interval_s
    )
    if interval < MIN_POLL_INTERVAL_S:
        raise ValueError(f"Chu kỳ quét phải từ {MIN_POLL_INTERVAL_S} giây trở lên.")
    url = validate_source_url(url, settings=settings)
    checked = validate_config(kind, config, settings=settings, check_url=validate_source_url)
    source = Source(
        name=name,
        url=url,
        kind=kind,
        scope=scope,
        province=province,
        config=checked,
        poll_interval_s=interval,
        next_poll_at=None,
    )
    session.add(source)
    return source


def edit_source(
    session: Session,
    source: Source,
    *,
    settings: Settings,
    name: str | None = None,
    url: str | None = None,
    scope: str | None = None,
    province: str | None = None,
    poll_interval_s: int | None = None,
    enabled: bool | None = None,
    config: dict[str, Any] | None = None,
    replace_config: bool = False,
) -> Source:
    """Change what is given (None: unchanged), every change checked before any is made; the
    caller commits. `config` is merged into the current one (a null value removes a key)
    unless `replace_config`; ValueError carries a Vietnamese message."""
    if name is not None:
        name = name.strip()
        taken = session.scalar(select(Source.id).where(Source.name == name, Source.id != source.id))
        if not name or len(name) > MAX_NAME or taken is not None:
            raise ValueError(f"Tên nguồn «{name}» trống, quá dài hoặc đã được dùng.")
    if url is not None:
        url = validate_source_url(url, settings=settings)
    if scope is not None and scope not in SCOPES:
        raise ValueError("Phạm vi phải là một trong: local, national, social.")
    # None leaves the province as it is; "" clears it.
    new_province = check_province(province) if province is not None else source.province
    if poll_interval_s is not None and poll_interval_s < MIN_POLL_INTERVAL_S:
        raise ValueError(f"Chu kỳ quét phải từ {MIN_POLL_INTERVAL_S} giây trở lên.")
    new_config = None
    if config is not None:
        merged = config if replace_config else merge_config(source.config, config)
        new_config = validate_config(
            source.kind, merged, settings=settings, check_url=validate_source_url
        )
    # Forms send every field: only a real change of what is fetched counts as one.
    url = None if url == source.url else url
    new_config = None if new_config == (source.config or {}) else new_config
    if new_config is not None or url is not None:
        if new_config is not None:
            source.config = new_config
        # What to fetch changed: try it at the next tick, and let a flagged source, which an
        # admin has now looked at, be polled again.
        source.next_poll_at = None
        source.etag = source.last_modified = None
        if source.health == "flagged":
            source.health, source.consecutive_failures = "unknown", 0
    for field, value in (
        ("name", name), ("url", url), ("scope", scope), ("poll_interval_s", poll_interval_s),
    ):  # fmt: skip
        if value is not None:
            setattr(source, field, value)
    source.province = new_province
    if enabled is not None:
        if enabled and (not source.enabled or source.health == "flagged"):
            # Re-enabling (or saving a flagged source as enabled) starts afresh: poll soon,
            # forget the old failure streak.
            source.consecutive_failures = 0
            source.next_poll_at = None
            if source.health == "flagged":
                source.health = "unknown"
        source.enabled = enabled
    return source
