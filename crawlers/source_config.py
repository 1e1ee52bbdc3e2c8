"""Source.config checked before it is saved: one pydantic model per source kind, the same
limits the connectors apply when they crawl, and one Vietnamese sentence per mistake.

Without this, a mistyped key or a "since_days": "hai" was only found by the next crawl,
as an English error on a failing source."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parsel.csstranslator import HTMLTranslator
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from core.settings import Settings

# Shown as "***" when a config is read back (API, CLI): the admin API must not hand out a
# page access token to whoever can read the source list.
SECRET_KEYS = frozenset({"access_token", "api_key", "app_secret"})
MASK = "***"
MAX_URLS = 50


def _as_list(value: Any) -> Any:
    # One URL given as a string is a list of one (as CrawlJob reads it).
    return [value] if isinstance(value, str) else value


def _css(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        try:
            HTMLTranslator().css_to_xpath(value.strip())
        except Exception as exc:  # cssselect raises several kinds of SelectorError
            raise ValueError(f"bộ chọn CSS không hợp lệ ({exc})") from None
    return value


def _zone(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"không có múi giờ «{value}»") from None
    return value


def _http(value: Any) -> Any:
    if isinstance(value, str) and not value.strip().lower().startswith(("http://", "https://")):
        raise ValueError(f"«{value}» không phải địa chỉ http:// hoặc https://")
    return value


# Each alias is used with "| None" below, where pydantic keeps no Field metadata of the
# alias itself: the descriptions (the "phải là ..." of each message) sit on the fields.
UrlList = Annotated[
    list[Annotated[str, BeforeValidator(_http), Field(min_length=1, max_length=2000)]],
    BeforeValidator(_as_list),
    Field(max_length=MAX_URLS),
]
URLS = f"danh sách địa chỉ http(s) (tối đa {MAX_URLS})"
Css = Annotated[str, BeforeValidator(_css), Field(max_length=500)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
TEXT = "một chuỗi không rỗng (tối đa 500 ký tự)"


def _urls() -> Any:
    return Field(None, description=URLS)


def _css_field() -> Any:
    return Field(None, description="một bộ chọn CSS (tối đa 500 ký tự)")


def _text(required: bool = False) -> Any:
    return Field(... if required else None, description=TEXT)


def _flag() -> Any:
    return Field(None, strict=True, description="true hoặc false")


def _int(low: int, high: int, extra: str = "") -> Any:
    return Field(
        None, ge=low, le=high, strict=True, description=f"số nguyên từ {low} đến {high}{extra}"
    )


def _num(low: float, high: float, extra: str = "") -> Any:
    return Field(
        None, ge=low, le=high, strict=True, description=f"một số từ {low:g} đến {high:g}{extra}"
    )


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def url_fields(self) -> dict[str, list[str]]:
        """The URLs this config makes the crawler fetch, by key (checked like a source URL)."""
        return {}


class RssConfig(_Config):
    """Kind "rss": whether to read article pages of summary-only items (crawlers.enrich)."""

    fetch_pages: bool | None = _flag()
    max_pages: int | None = _int(1, 1000, " (trang bài đọc thêm mỗi lần quét)")


class SiteConfig(_Config):
    """Kind "site": the keys of crawlers.spiders.config.CrawlJob, with its limits."""

    sitemaps: UrlList | None = _urls()
    listings: UrlList | None = _urls()
    article_selector: Css | None = _css_field()
    next_selector: Css | None = _css_field()
    max_pages: int | None = _int(1, 1000)
    since_days: float | None = Field(
        None,
        ge=0,
        le=3650,
        strict=True,
        description="số ngày từ 0 đến 3650 (0 = không giới hạn)",
    )
    concurrency: int | None = _int(1, 64)
    max_articles: int | None = _int(1, 100_000)
    timeout_s: float | None = _num(5, 3600, " giây")
    start_delay_s: float | None = _num(0, 60, " giây")
    target_concurrency: float | None = _num(0.1, 64)

    @model_validator(mode="after")
    def _listings_need_a_selector(self) -> SiteConfig:
        if self.listings and not self.article_selector:
            raise ValueError(
                "Có trang danh sách (listings) thì cần article_selector: bộ chọn CSS của "
                "đường dẫn bài viết trên trang đó."
            )
        return self

    def url_fields(self) -> dict[str, list[str]]:
        return {"sitemaps": self.sitemaps or [], "listings": self.listings or []}


class FacebookConfig(_Config):
    page_id: Text = _text(required=True)
    access_token: Text = _text(required=True)
    api_base: Text | None = _text()
    max_pages: int | None = _int(1, 50)
    page_size: int | None = _int(1, 100)
    comments: bool | None = _flag()
    max_comment_pages: int | None = _int(1, 20)
    since: str | int | None = Field(None, description="một ngày ISO 8601 hoặc thời điểm Unix")
    app_secret: Text | None = _text()


class YouTubeConfig(_Config):
    channel_id: Text = _text(required=True)
    api_key: Text = _text(required=True)
    api_base: Text | None = _text()
    max_videos: int | None = _int(1, 500)
    comments: bool | None = _flag()
    max_comment_pages: int | None = _int(1, 20)


class ForumConfig(_Config):
    forum_url: Text | None = _text()
    max_pages: int | None = _int(1, 50)
    max_threads: int | None = _int(1, 500)
    max_thread_pages: int | None = _int(1, 50)
    timezone: Annotated[str, BeforeValidator(_zone)] | None = Field(
        None, description="tên múi giờ, ví dụ Asia/Ho_Chi_Minh"
    )
    incremental: bool | None = _flag()

    def url_fields(self) -> dict[str, list[str]]:
        return {"forum_url": [self.forum_url] if self.forum_url else []}


CONFIG_MODELS: dict[str, type[_Config]] = {
    "rss": RssConfig,
    "site": SiteConfig,
    "facebook": FacebookConfig,
    "youtube": YouTubeConfig,
    "forum": ForumConfig,
}


def _message(kind: str, model: type[_Config], err: Any) -> str:
    """One pydantic error as a Vietnamese sentence naming the key."""
    loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
    key = loc[0] if loc else ""
    kind_name = f"nguồn loại {kind}"
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(model.model_fields)
        return f"Cấu hình {kind_name} không có khóa «{key}» (các khóa dùng được: {allowed})."
    if err["type"] == "missing":
        return f"Cấu hình {kind_name} cần «{key}»."
    if err["type"] == "value_error" and not key:
        return str(err["ctx"]["error"])
    field = model.model_fields.get(key)
    rule = field.description if field is not None else None
    if err["type"] == "value_error":
        return f"{key}: {err['ctx']['error']}."
    if rule:
        return f"{key} phải là {rule}."
    return f"{key} không hợp lệ."


def validate_config(
    kind: str, config: Any, *, settings: Settings, check_url: Any | None = None
) -> dict[str, Any]:
    """The config to store for a source of `kind` (keys left unset are left out, so the
    connector's defaults apply), or ValueError with a Vietnamese message.

    `check_url(url, settings=...)` vets every URL the config makes the crawler fetch (the
    same check as the source's own URL); it returns the URL or raises ValueError."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError('Cấu hình nguồn phải là một đối tượng JSON, ví dụ {"since_days": 2}.')
    model = CONFIG_MODELS.get(kind)
    if model is None:
        if config:
            raise ValueError(f"Nguồn loại {kind} không có cấu hình.")
        return {}
    try:
        parsed = model.model_validate(config)
    except ValidationError as exc:
        raise ValueError(" ".join(_message(kind, model, e) for e in exc.errors()[:3])) from None
    if check_url is not None:
        for key, urls in parsed.url_fields().items():
            for url in urls:
                try:
                    check_url(url, settings=settings)
                except ValueError as exc:
                    raise ValueError(f"{key}: {url}: {exc}") from None
    stored = parsed.model_dump(mode="json", exclude_none=True)
    # Strict floats take ints and give back 2.0; an admin wrote 2.
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in stored.items()}


def merge_config(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` laid over `current` as a JSON merge patch: null removes a key. A secret
    sent back as it was shown ("***") keeps the stored one."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif key in SECRET_KEYS and value == MASK:
            continue
        else:
            merged[key] = value
    return merged


def public_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """The config as shown to admins: secrets masked."""
    return {k: (MASK if k in SECRET_KEYS and v else v) for k, v in (config or {}).items()}
