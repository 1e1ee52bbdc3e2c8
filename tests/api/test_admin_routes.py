"""The admin routes that api.crud generates: the same table as the hand-written routes had."""

from __future__ import annotations

from fastapi.routing import iter_route_contexts

from api.main import create_app
from core.settings import Settings

# (method, path, route name, status code) as written by hand before api.crud generated them;
# the names are the OpenAPI operation ids' stems, which API clients may have generated from.
EXPECTED = {
    ("GET", "/api/v1/admin/facts", "list_facts", None),
    ("POST", "/api/v1/admin/facts", "add_fact", 201),
    ("PUT", "/api/v1/admin/facts/{fact_id}", "edit_fact", None),
    ("DELETE", "/api/v1/admin/facts/{fact_id}", "remove_fact", 204),
    ("GET", "/api/v1/admin/sources", "list_sources", None),
    ("POST", "/api/v1/admin/sources", "add_source", 201),
    ("PATCH", "/api/v1/admin/sources/{source_id}", "edit_source", None),
    ("GET", "/api/v1/admin/subscriptions", "list_subscriptions", None),
    ("POST", "/api/v1/admin/subscriptions", "add_subscription", 201),
    ("PUT", "/api/v1/admin/subscriptions/{subscription_id}", "edit_subscription", None),
    ("DELETE", "/api/v1/admin/subscriptions/{subscription_id}", "remove_subscription", 204),
    ("GET", "/api/v1/admin/units", "list_units", None),
    ("POST", "/api/v1/admin/units", "add_unit", 201),
    ("POST", "/api/v1/admin/units/import", "import_units_file", None),
    ("PUT", "/api/v1/admin/units/{unit_id}", "edit_unit", None),
    ("GET", "/api/v1/admin/users", "list_users", None),
    ("POST", "/api/v1/admin/users", "add_user", 201),
    ("PATCH", "/api/v1/admin/users/{user_id}", "edit_user", None),
    ("GET", "/api/v1/rules", "list_rules", None),
    ("POST", "/api/v1/rules", "add_rule", 201),
    ("GET", "/api/v1/rules/{rule_id}", "get_rule", None),
    ("PUT", "/api/v1/rules/{rule_id}", "edit_rule", None),
    ("DELETE", "/api/v1/rules/{rule_id}", "remove_rule", 204),
}


def test_generated_admin_routes_keep_their_paths_names_and_status_codes(
    settings: Settings,
) -> None:
    # given: the app as served
    app = create_app(settings)
    # when: its admin and rule routes are listed
    found = {
        (method, ctx.path, ctx.name, ctx.route.status_code)
        for ctx in iter_route_contexts(app.routes)
        if ctx.path.startswith(("/api/v1/admin", "/api/v1/rules"))
        for method in ctx.methods or ()
    }
    # then: every one is there, each with a description for the API docs
    assert found == EXPECTED
    described = {
        ctx.name: ctx.endpoint.__doc__
        for ctx in iter_route_contexts(app.routes)
        if ctx.path.startswith(("/api/v1/admin", "/api/v1/rules"))
    }
    assert all(described.values()), [name for name, doc in described.items() if not doc]
