"""Grouped settings keep the flat DIEMTIN_* names deployments set: every variable of the flat
Settings (before issue 17) still sets its value, now at its place in a group."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, env_names
from core.settings.groups import ClassifierSettings

# Whichever runtime is not the default, so that setting it shows.
OTHER_RUNTIME = "torch" if ClassifierSettings().runtime == "onnx" else "onnx"
# variable -> (value set, where it lands, what it reads back as). One row per setting the
# flat Settings had; a renamed or lost variable fails here rather than in a deployment.
FLAT_NAMES: dict[str, tuple[str, str, Any]] = {
    "DIEMTIN_ENVIRONMENT": ("production", "environment", "production"),
    "DIEMTIN_SECRET_KEY": ("s3cr3t-value", "secret_key", "s3cr3t-value"),
    "DIEMTIN_DATA_DIR": ("/srv/diemtin/var", "data_dir", Path("/srv/diemtin/var")),
    "DIEMTIN_SHARED_DATA_DIR": ("/srv/shared", "shared_data_dir", Path("/srv/shared")),
    "DIEMTIN_TIMEZONE": ("Asia/Bangkok", "timezone", "Asia/Bangkok"),
    "DIEMTIN_PROVINCE": ("Đà Nẵng", "province", "Đà Nẵng"),
    "DIEMTIN_DATABASE_URL": ("postgresql+psycopg://db/x", "db.url", "postgresql+psycopg://db/x"),
    "DIEMTIN_CLI_BUSY_WAIT_S": ("61", "db.cli_busy_wait_s", 61.0),
    "DIEMTIN_WEB_LOCK_DEADLINE_S": ("11", "db.web_lock_deadline_s", 11.0),
    "DIEMTIN_SEARCH_BACKEND": ("elasticsearch", "search.backend", "elasticsearch"),
    "DIEMTIN_ELASTICSEARCH_URL": ("http://es:9200", "search.elasticsearch_url", "http://es:9200"),
    "DIEMTIN_SEARCH_INDEX_BATCH": ("501", "search.index_batch", 501),
    "DIEMTIN_INDEX_TICK_S": ("6", "search.index_tick_s", 6),
    "DIEMTIN_BROKER_URL": ("redis://r:6379/0", "celery.broker_url", "redis://r:6379/0"),
    "DIEMTIN_RESULT_BACKEND": ("redis://r:6379/1", "celery.result_backend", "redis://r:6379/1"),
    "DIEMTIN_CELERY_EAGER": ("true", "celery.eager", True),
    "DIEMTIN_BROKER_VISIBILITY_TIMEOUT_S": ("121", "celery.broker_visibility_timeout_s", 121.0),
    "DIEMTIN_REDIS_VISIBILITY_TIMEOUT_S": ("7201", "celery.redis_visibility_timeout_s", 7201.0),
    "DIEMTIN_SWEEP_GRACE_S": ("301", "celery.sweep_grace_s", 301.0),
    "DIEMTIN_SWEEP_TICK_S": ("302", "celery.sweep_tick_s", 302.0),
    "DIEMTIN_CRAWL_RUN_STALE_S": ("3601", "celery.crawl_run_stale_s", 3601.0),
    "DIEMTIN_ENCODER_DIR": ("/models/e5", "classifier.encoder_dir", Path("/models/e5")),
    "DIEMTIN_ENCODER_TRIM_VOCAB": ("true", "classifier.encoder_trim_vocab", True),
    "DIEMTIN_CLASSIFIER_RUNTIME": (OTHER_RUNTIME, "classifier.runtime", OTHER_RUNTIME),
    "DIEMTIN_CLASSIFIER_DIR": ("/models/v3", "classifier.artefact_dir", Path("/models/v3")),
    "DIEMTIN_CLASSIFIER_THREADS": ("3", "classifier.threads", 3),
    "DIEMTIN_CLASSIFIER_STUDENT": ("off", "classifier.student", "off"),
    "DIEMTIN_CLASSIFIER_MODEL_ENABLED": ("false", "classifier.model_enabled", False),
    "DIEMTIN_HTTP_USER_AGENT": ("bot/2", "http.user_agent", "bot/2"),
    "DIEMTIN_HTTP_TIMEOUT_S": ("22", "http.timeout_s", 22.0),
    "DIEMTIN_HTTP_MAX_BYTES": ("1234", "http.max_bytes", 1234),
    "DIEMTIN_ALLOWED_PRIVATE_NETWORKS": (
        "10.8.0.0/16",
        "http.allowed_private_networks",
        "10.8.0.0/16",
    ),
    "DIEMTIN_ALLOW_PRIVATE_URLS": ("true", "http.allow_private_urls", True),
    "DIEMTIN_DEFAULT_POLL_INTERVAL_S": ("901", "crawl.default_poll_interval_s", 901),
    "DIEMTIN_SCHEDULER_TICK_S": ("16", "crawl.scheduler_tick_s", 16),
    "DIEMTIN_SOURCE_FAILURE_THRESHOLD": ("7", "crawl.source_failure_threshold", 7),
    "DIEMTIN_SCHOOL_CALENDAR": (
        '[{"code": "kg", "name": "Khai giảng", "start": "08-28", "end": "09-10"}]',
        "alerts.school_calendar",
        [{"code": "kg", "name": "Khai giảng", "start": "08-28", "end": "09-10"}],
    ),
    "DIEMTIN_FACT_SIMILARITY_THRESHOLD": ("0.9", "alerts.fact_similarity_threshold", 0.9),
    "DIEMTIN_RESPONSE_DEADLINES_H": (
        '{"critical": 1}',
        "alerts.response_deadlines_h",
        {"critical": 1.0},
    ),
    "DIEMTIN_POSITIVE_TARGET_PHONG_GDDT": ("9", "alerts.positive_target_phong_gddt", 9),
    "DIEMTIN_POSITIVE_TARGET_TRUONG": ("3", "alerts.positive_target_truong", 3),
    "DIEMTIN_RELEVANCE_THRESHOLD": ("0.6", "alerts.relevance_threshold", 0.6),
    "DIEMTIN_UNIT_TARGETS": ('{"vhxh_xa": 3}', "alerts.unit_targets", {"vhxh_xa": 3}),
    "DIEMTIN_NOTIFY_IMMEDIATE_SEVERITY": ("critical", "notify.immediate_severity", "critical"),
    "DIEMTIN_NOTIFY_MAX_PER_HOUR": ("7", "notify.max_per_hour", 7),
    "DIEMTIN_NOTIFY_BUNDLE_INTERVAL_MIN": ("61", "notify.bundle_interval_min", 61),
    "DIEMTIN_NOTIFY_MAX_ATTEMPTS": ("8", "notify.max_attempts", 8),
    "DIEMTIN_NOTIFY_BACKOFF_S": ("31", "notify.backoff_s", 31.0),
    "DIEMTIN_NOTIFY_LEASE_S": ("400", "notify.lease_s", 400.0),
    "DIEMTIN_NOTIFY_DISPATCH_TICK_S": ("6", "notify.dispatch_tick_s", 6.0),
    "DIEMTIN_DIGEST_CATCHUP_DAYS": ("2", "notify.digest_catchup_days", 2),
    "DIEMTIN_ZALO_API_BASE": ("http://zalo.test", "notify.zalo_api_base", "http://zalo.test"),
    "DIEMTIN_ZALO_ACCESS_TOKEN": ("zt", "notify.zalo_access_token", "zt"),
    "DIEMTIN_WEBHOOK_SECRET": ("wh", "notify.webhook_secret", "wh"),
    "DIEMTIN_SMTP_HOST": ("mail.test", "smtp.host", "mail.test"),
    "DIEMTIN_SMTP_PORT": ("587", "smtp.port", 587),
    "DIEMTIN_SMTP_SECURITY": ("starttls", "smtp.security", "starttls"),
    "DIEMTIN_SMTP_USERNAME": ("vanphong", "smtp.username", "vanphong"),
    "DIEMTIN_SMTP_PASSWORD": ("pw", "smtp.password", "pw"),
    "DIEMTIN_SMTP_FROM": ("So GDDT <vp@so.test>", "smtp.sender", "So GDDT <vp@so.test>"),
    "DIEMTIN_SMTP_TIMEOUT_S": ("21", "smtp.timeout_s", 21.0),
    "DIEMTIN_SMTP_CA_FILE": ("/etc/ca.pem", "smtp.ca_file", "/etc/ca.pem"),
    "DIEMTIN_HOST": ("0.0.0.0", "web.host", "0.0.0.0"),
    "DIEMTIN_PORT": ("9123", "web.port", 9123),
    "DIEMTIN_DEMO_PORT": ("8766", "web.demo_port", 8766),
    "DIEMTIN_PUBLIC_URL": ("https://diemtin.test", "web.public_url", "https://diemtin.test"),
    "DIEMTIN_FORWARDED_ALLOW_IPS": ("10.0.0.1", "web.forwarded_allow_ips", "10.0.0.1"),
    "DIEMTIN_SESSION_TTL_MINUTES": ("721", "auth.session_ttl_minutes", 721),
    "DIEMTIN_COOKIE_SECURE": ("false", "auth.cookie_secure", False),
    "DIEMTIN_LOGIN_MAX_FAILURES": ("6", "auth.login_max_failures", 6),
    "DIEMTIN_LOCKOUT_MINUTES": ("16", "auth.lockout_minutes", 16),
    "DIEMTIN_LOGIN_RATE_PER_IP": ("21", "auth.login_rate_per_ip", 21),
    "DIEMTIN_LOGIN_RATE_PER_USER": ("11", "auth.login_rate_per_user", 11),
    "DIEMTIN_LOGIN_WINDOW_MINUTES": ("17", "auth.login_window_minutes", 17),
    "DIEMTIN_ADMIN_USERNAME": ("quantri", "auth.admin_username", "quantri"),
    "DIEMTIN_ADMIN_PASSWORD": ("mat-khau-dai", "auth.admin_password", "mat-khau-dai"),
}


def read(settings: Settings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No DIEMTIN_ variable and no .env file but what the test sets."""
    for name in list(os.environ):
        if name.startswith("DIEMTIN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_every_flat_name_is_still_a_setting() -> None:
    # The 73 variables of the flat Settings, and rows added since; a setting added without a
    # row is not refused here (its own tests read it).
    assert len(FLAT_NAMES) >= 73
    assert set(FLAT_NAMES) <= env_names()


def test_every_flat_name_sets_its_value(clean_env: pytest.MonkeyPatch) -> None:
    # given every variable a deployment may set, each to a value other than the default
    for name, (raw, _, _) in FLAT_NAMES.items():
        clean_env.setenv(name, raw)
    # when the settings are read
    settings = Settings()
    # then each lands at its place in the groups
    for name, (_, path, expected) in FLAT_NAMES.items():
        assert read(settings, path) == expected, name


def test_defaults_without_variables(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    for name, (_, path, expected) in FLAT_NAMES.items():
        assert read(settings, path) != expected, f"{name}: the test value must differ"


def test_dotenv_file_sets_grouped_values(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DIEMTIN_SMTP_FROM=vp@so.test\nDIEMTIN_NOTIFY_MAX_PER_HOUR=9\n")
    clean_env.setenv("DIEMTIN_NOTIFY_MAX_PER_HOUR", "4")
    settings = Settings()
    assert settings.smtp.sender == "vp@so.test"
    assert settings.notify.max_per_hour == 4  # the environment beats the file, as before
    assert Settings(_env_file=None).smtp.sender != "vp@so.test"


def test_arguments_beat_the_environment_field_by_field(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DIEMTIN_SMTP_HOST", "mail.test")
    clean_env.setenv("DIEMTIN_SMTP_PORT", "587")
    settings = Settings(smtp={"port": 2525})
    assert (settings.smtp.host, settings.smtp.port) == ("mail.test", 2525)


def test_cross_group_rules_still_hold(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DIEMTIN_NOTIFY_LEASE_S", "30")
    with pytest.raises(ValueError, match="DIEMTIN_NOTIFY_LEASE_S"):
        Settings()
    clean_env.setenv("DIEMTIN_NOTIFY_LEASE_S", "300")
    clean_env.setenv("DIEMTIN_SMTP_USERNAME", "vanphong")
    with pytest.raises(ValueError, match="DIEMTIN_SMTP_USERNAME"):
        Settings()


def test_from_env_names_reads_a_deployment_file(clean_env: pytest.MonkeyPatch) -> None:
    values = {name: raw for name, (raw, _, _) in FLAT_NAMES.items()}
    settings = Settings.from_env_names(values, _env_file=None)
    for name, (_, path, expected) in FLAT_NAMES.items():
        assert read(settings, path) == expected, name


def test_copy_with_changes_one_field_and_keeps_the_rest(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings(smtp={"host": "mail.test"})
    changed = settings.copy_with(smtp={"port": 2525}, province="Huế")
    assert (changed.smtp.host, changed.smtp.port, changed.province) == ("mail.test", 2525, "Huế")
    assert (settings.smtp.port, settings.province) == (25, "")
