"""One pydantic-settings `Settings` for the whole service, grouped by what each part configures
(`settings.smtp.host`, `settings.notify.lease_s`), read from the flat DIEMTIN_* environment
variables and .env file that deployments already set (DIEMTIN_SMTP_HOST, DIEMTIN_NOTIFY_LEASE_S).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from core.settings.groups import (
    ENV_PREFIX,
    AlertSettings,
    AuthSettings,
    CelerySettings,
    ClassifierSettings,
    CrawlSettings,
    DatabaseSettings,
    Group,
    HttpSettings,
    NotifySettings,
    SearchSettings,
    SmtpSettings,
    WebSettings,
)

DEV_SECRET_KEY = "dev-insecure-change-me"
# core/settings/__init__.py -> the repository root.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class GroupedEnvSource(PydanticBaseSettingsSource):
    """Reads each group's fields from their flat variables in the environment (or the .env
    file) that `source` loaded, as nested values: DIEMTIN_SMTP_HOST -> {"smtp": {"host": ..}}."""

    def __init__(self, settings_cls: type[BaseSettings], source: EnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self.source = source

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads the variables itself (the base class requires the method).
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for env_name, (group, field) in env_paths().items():
            value = self.source.env_vars.get(env_name.lower())
            if value is not None:
                found.setdefault(group, {})[field] = decode(group, field, value)
        return found


class Settings(BaseSettings):
    """Runtime configuration; the defaults run on one machine with nothing else installed."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEV_SECRET_KEY
    data_dir: Path = PROJECT_ROOT / "var"
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    timezone: str = "Asia/Ho_Chi_Minh"
    # The province the Department serves, any of its names (e.g. "Quảng Ngãi", or an old one
    # such as "Kon Tum"); the default until an admin chooses one (`diemtin province set`,
    # the admin pages), which is kept in the database and wins (core.geo.choice).
    province: str = ""

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    celery: CelerySettings = Field(default_factory=CelerySettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Same precedence as before the grouping: arguments, environment, .env file, secrets.
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, EnvSettingsSource)  # DotEnvSettingsSource is one
        return (
            init_settings,
            env_settings,
            GroupedEnvSource(settings_cls, env_settings),
            dotenv_settings,
            GroupedEnvSource(settings_cls, dotenv_settings),
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "DIEMTIN_SECRET_KEY must be set to a private random value outside development"
            )
        if self.notify.lease_s <= 3 * max(self.smtp.timeout_s, self.http.timeout_s):
            raise ValueError("DIEMTIN_NOTIFY_LEASE_S must exceed 3x the SMTP and HTTP timeouts")
        return self

    @classmethod
    def from_env_names(cls, values: Mapping[str, Any], **kwargs: Any) -> Settings:
        """Settings from a mapping of DIEMTIN_* names to values (a deployment's env file),
        without reading the process environment's values for those names."""
        nested: dict[str, Any] = dict(kwargs)
        paths = env_paths()
        for name, value in values.items():
            if name in paths:
                group, field = paths[name]
                nested.setdefault(group, {})[field] = decode(group, field, value)
            elif name.startswith(ENV_PREFIX) and name[len(ENV_PREFIX) :].lower() in TOP_LEVEL:
                nested[name[len(ENV_PREFIX) :].lower()] = value
        return cls(**nested)

    def copy_with(self, **changes: Any) -> Settings:
        """A copy with some settings changed, given as to the constructor: a group's fields
        as a dict (`copy_with(http={"max_bytes": 1024})`), top-level settings as values."""
        update = {
            name: getattr(self, name).model_copy(update=value) if name in GROUPS else value
            for name, value in changes.items()
        }
        return self.model_copy(update=update)

    @property
    def secure_cookies(self) -> bool:
        """Whether session cookies carry the Secure flag."""
        if self.auth.cookie_secure is not None:
            return self.auth.cookie_secure
        return self.environment == "production"

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the main database."""
        return self.db.url or f"sqlite:///{self.data_dir / 'diemtin.sqlite3'}"

    @property
    def search_sqlite_url(self) -> str:
        """Where the FTS5 backend keeps its tables: the database file itself when that is
        SQLite, otherwise a SQLite file of its own in data_dir (FTS5 is SQLite-only)."""
        if self.db_url.startswith("sqlite"):
            return self.db_url
        return f"sqlite:///{self.data_dir / 'search.sqlite3'}"

    @property
    def celery_broker_url(self) -> str:
        """The Celery broker URL; the embedded default is a SQLite file beside the database."""
        return self.celery.broker_url or f"sqla+sqlite:///{self.data_dir / 'broker.sqlite3'}"

    @property
    def celery_result_backend(self) -> str:
        """The Celery result backend URL."""
        return self.celery.result_backend or f"db+sqlite:///{self.data_dir / 'results.sqlite3'}"


# The groups by their attribute on Settings; the top-level settings keep their own names.
GROUPS: dict[str, type[Group]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, Group)
}
TOP_LEVEL = frozenset(Settings.model_fields) - frozenset(GROUPS)


def decode(group: str, field: str, value: Any) -> Any:
    """A variable's text as pydantic-settings reads it: lists and dicts are JSON."""
    annotation = GROUPS[group].model_fields[field].annotation
    if isinstance(value, str) and get_origin(annotation) in (list, dict):
        return json.loads(value)
    return value


@lru_cache(maxsize=1)
def env_paths() -> dict[str, tuple[str, str]]:
    """Every grouped setting's environment variable -> (group, field), e.g.
    "DIEMTIN_SMTP_FROM" -> ("smtp", "sender")."""
    paths: dict[str, tuple[str, str]] = {}
    for group, model in GROUPS.items():
        for field in model.model_fields:
            name = model.env_name(field)
            assert name not in paths, f"{name} set by two settings"
            paths[name] = (group, field)
    return paths


def env_names() -> frozenset[str]:
    """Every DIEMTIN_* variable that is a setting (a name outside it would be ignored)."""
    return frozenset(env_paths()) | {ENV_PREFIX + name.upper() for name in TOP_LEVEL}


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()`)."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
