"""docker-compose.yml checked without a Docker engine: `docker-compose config` (v1, PyPI) does
not install on Python 3.11 (its PyYAML<6 pin has no wheel and fails to build), so the file is
interpolated like Compose does, validated against a JSON schema of the Compose keys we use,
and checked for what a deployment needs: health checks, start order, volumes, queues."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from core.celery_app import QUEUES, TASK_ROUTES
from core.settings import Settings, env_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy.env.example"

_DURATION = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h))+$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
SERVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
    "properties": {
        "build": {"type": ["string", "object"]},
        "image": {"type": "string", "minLength": 1},
        "command": {"oneOf": [{"type": "string"}, _STRINGS]},
        "env_file": {"oneOf": [{"type": "string"}, _STRINGS]},
        "environment": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "volumes": {"type": "array", "items": {"type": "string", "pattern": r"^[\w.-]+:/"}},
        "ports": {"type": "array", "items": {"type": "string", "pattern": r"^[0-9:.-]+$"}},
        "depends_on": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["condition"],
                "additionalProperties": False,
                "properties": {
                    "condition": {
                        "enum": [
                            "service_started",
                            "service_healthy",
                            "service_completed_successfully",
                        ]
                    }
                },
            },
        },
        "healthcheck": {
            "type": "object",
            "required": ["test"],
            "additionalProperties": False,
            "properties": {
                "test": {
                    "type": "array",
                    "minItems": 2,
                    "prefixItems": [{"enum": ["CMD", "CMD-SHELL"]}],
                    "items": {"type": "string"},
                },
                "interval": _DURATION,
                "timeout": _DURATION,
                "start_period": _DURATION,
                "retries": {"type": "integer", "minimum": 1},
            },
        },
        "deploy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"replicas": {"type": "integer", "minimum": 0}},
        },
        "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
        "profiles": _STRINGS,
    },
}
COMPOSE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["services"],
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},
    "properties": {
        "services": {"type": "object", "additionalProperties": SERVICE_SCHEMA},
        "volumes": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
    },
}

_VAR = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blanks skipped)."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=VALUE: {line!r}"
            env[key.strip()] = value.strip()
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable syntax: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group("name"), m.group("op"), m.group("arg")
        value = env.get(name)
        if op in (":-", "-"):
            return arg if value is None or (op == ":-" and value == "") else value
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise ValueError(f"required variable {name} is missing: {arg}")
        if value is None:
            raise ValueError(f"variable {name} has no value and no default")
        return value

    return _VAR.sub(sub, text)


def load_compose(env: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml interpolated with `env`, YAML anchors and merge keys resolved."""
    data: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE.read_text(encoding="utf-8"), env))
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(read_env_file(ENV_EXAMPLE))


def test_compose_file_matches_the_schema(compose: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in jsonschema_rs.validator_for(COMPOSE_SCHEMA).iter_errors(compose)
    ]
    assert errors == []


def test_every_service_the_architecture_names_is_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    expected = {"api", "worker-crawl", "worker-classify", "worker-alerts", "beat"}
    assert expected | {"redis", "postgres", "elasticsearch", "mail", "migrate"} <= set(services)
    assert services["api"]["deploy"]["replicas"] >= 2
    assert services["beat"]["deploy"]["replicas"] == 1  # two beats would double every tick
    es = services["elasticsearch"]
    assert re.fullmatch(r"docker\.elastic\.co/elasticsearch/elasticsearch:8\.\d+\.\d+", es["image"])
    assert es["environment"]["discovery.type"] == "single-node"
    assert "mailpit" in services["mail"]["image"]


def test_start_order_waits_on_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        for dep, cond in svc.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits on {dep}'s health check"
            if cond["condition"] == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} must run once and exit"
    for name in ("redis", "postgres", "elasticsearch", "api"):
        assert "healthcheck" in services[name], name
    for name in ("api", "worker-crawl", "worker-classify", "worker-alerts", "beat"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert {"postgres", "redis", "elasticsearch"} <= set(deps)


def test_volumes_are_declared_and_data_is_kept(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = {
        v.split(":", 1)[0] for svc in compose["services"].values() for v in svc.get("volumes", [])
    }
    assert used <= declared and declared <= used
    for name, path in [("postgres", "/var/lib/postgresql/data"), ("redis", "/data")]:
        assert any(v.endswith(":" + path) for v in compose["services"][name]["volumes"]), name
    assert "--appendonly" in compose["services"]["redis"]["command"]


def test_workers_consume_every_queue_and_settings_pick_the_engines(
    compose: dict[str, Any],
) -> None:
    consumed: set[str] = set()
    for name, svc in compose["services"].items():
        command = svc.get("command", [])
        if "worker" in command:
            assert command[:3] == ["celery", "-A", "core.celery_app:app"], name
            consumed |= set(command[command.index("-Q") + 1].split(","))
    assert set(QUEUES) | {"default"} <= consumed
    assert {route["queue"] for route in TASK_ROUTES.values()} <= consumed
    # every DIEMTIN_ variable is a real setting and parses (a typo would be silently ignored)
    app_env = dict(compose["services"]["api"]["environment"])
    file_env = read_env_file(ENV_EXAMPLE)
    known = env_names()
    for key in [*app_env, *file_env]:
        assert not key.startswith("DIEMTIN_") or key in known, f"unknown setting {key}"
    parsed = Settings.from_env_names({**file_env, **app_env})
    assert parsed.db_url.startswith("postgresql+psycopg://")
    assert parsed.celery_broker_url.startswith("redis://")
    assert parsed.search.backend == "elasticsearch"
    assert compose["services"]["api"]["env_file"] == ["deploy.env"]
    # uvicorn (the api command) trusts X-Forwarded-For only from these proxy addresses
    assert "FORWARDED_ALLOW_IPS" in file_env
    assert compose["services"]["api"]["command"][0] == "uvicorn"


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} $$HOME", env) == "x d d  $HOME"
    with pytest.raises(ValueError, match="UNSET"):
        interpolate("${UNSET}", env)
    with pytest.raises(ValueError, match="required"):
        interpolate("${EMPTY:?required}", env)
