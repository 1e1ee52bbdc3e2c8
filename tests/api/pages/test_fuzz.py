"""Schemathesis, in process, over every /api/v1 operation of the OpenAPI: no 500s.

Bounded: a few examples per operation so the whole run stays well under two minutes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.api.pages.conftest import Seed


def fuzz(operation, auth: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Run a few generated calls of one operation; schemathesis' own no-500 check."""

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=auth, checks=[not_a_server_error])

    run()


def test_api_never_answers_500(api_schema, client_for, api_token) -> None:
    # schemathesis' pytest plugin does not load with our pytest, so each operation's
    # hypothesis strategy is driven here; the checks are schemathesis' own.
    # Load the classifier once: its first call takes longer than schemathesis' read timeout.
    assert client_for("admin").post("/api/v1/classify", json={"texts": ["giáo dục"]}).is_success
    failures = []
    operations = [r.ok() for r in api_schema.include(path_regex="^/api/v1/").get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        try:
            # An admin's API token gets every operation past its role check; a new admin
            # per operation, as fuzzed calls may revoke the token or deactivate its user.
            fuzz(operation, {"Authorization": f"Bearer {api_token()}"})
        except Exception as exc:  # collect all operations' failures, then report them
            subs = getattr(exc, "exceptions", ())
            failures.append(f"{operation.label}: {str(exc)[:2000]} {[str(e)[:1500] for e in subs]}")
    assert not failures, "\n\n".join(failures)


def test_openapi_documents_examples_and_errors(client_for, seeded: Seed) -> None:
    spec = client_for("admin").get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("RuleIn", "SourceIn", "UnitIn", "FactIn", "UserIn", "SubscriptionIn"):
        assert schemas[name].get("examples"), name
    rules = spec["paths"]["/api/v1/rules"]
    assert "400" in rules["post"]["responses"] and "cursor" in str(rules["get"]["parameters"])
