"""Who may open what, checked over every endpoint of the app (not a hand-kept list).

Every endpoint is either in :data:`PUBLIC` (reachable without an account) or carries the
``allowed_roles`` that :func:`surveys.auth.access.roles_required` sets. Each GET endpoint is
then opened by an anonymous visitor (→ login page), and by an admin, a staff member and a
committee member (→ the page, or 403). URLs are built from the objects of a seeded world
(:mod:`tests.world`); a new URL parameter needs a value there.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from tests.world import INSTITUTION_OWNED_PARAMS, logged_in_client, seed_world

#: Endpoints anyone may open, and why. Everything else must use ``roles_required``.
PUBLIC = {
    "static": "CSS, JS and images",
    "favicon": "the site icon browsers ask for at /favicon.ico",
    "charts.plotly_js": "plotly.js from the installed plotly package (a static file)",
    "auth.login": "the login form",
    "auth.logout": "ends whatever session there is (POST + CSRF)",
    "auth.index": "redirects to the login page or the user's home",
    # the JSON API authenticates by itself (bearer token or session) and answers 401/403 in
    # JSON instead of redirecting to the login page: tests/api/test_api.py
    "api.indicators": "JSON API: 401 without a token or session, 403 outside the caller's scope",
    "api.openapi": "the API's OpenAPI description (no data)",
}
#: Endpoint-name prefixes that are public: the employers' survey pages behind personal links
#: (the link's secret token is the access check there, not an account).
PUBLIC_PREFIXES = ("responses.",)


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC or endpoint.startswith(PUBLIC_PREFIXES)


def protected_rules(app) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if not is_public(rule.endpoint)),
        key=lambda rule: rule.rule,
    )


def build_url(rule: Rule, params: dict) -> str:
    """The URL of ``rule`` with values from ``params``; a missing value fails the test."""
    in_path = set(rule.arguments) - set(rule.defaults or {})  # defaults are not in the URL
    missing = sorted(in_path - set(params))
    if missing:
        pytest.fail(
            f"endpoint {rule.endpoint} ({rule.rule}) takes URL parameter(s) {missing} that the "
            "access tests cannot fill: create the object in tests/world.py (_institution_objects "
            "or seed_world) and put its id in the params dict under that name."
        )
    url = rule.rule
    for name in in_path:
        url = _replace_argument(url, name, params[name])
    return url


def _replace_argument(url: str, name: str, value) -> str:
    import re

    return re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", str(value), url)


def test_every_endpoint_is_public_or_role_protected(app):
    unprotected = [
        f"{rule.endpoint} ({rule.rule})"
        for rule in protected_rules(app)
        if not getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
    ]
    assert not unprotected, (
        "these endpoints have neither @roles_required(...) nor a place in the PUBLIC list of "
        "tests/test_access_matrix.py: " + ", ".join(unprotected)
    )


def test_access_matrix(app, db):
    world = seed_world(db)
    clients = {
        "anonymous": logged_in_client(app, None),
        "admin": logged_in_client(app, world.admin),
        "staff": logged_in_client(app, world.staff),
        "committee": logged_in_client(app, world.committee),
    }
    checked, problems = 0, []
    for rule in protected_rules(app):
        if "GET" not in rule.methods:
            continue
        allowed = {str(r) for r in app.view_functions[rule.endpoint].allowed_roles}
        url = build_url(rule, world.params)
        for who, client in clients.items():
            response = client.get(url)
            location = response.headers.get("Location", "")
            if who == "anonymous":
                ok = response.status_code == 302 and "/login" in location
                expected = "302 to /login"
            elif who in allowed:
                ok = response.status_code == 200 or (
                    300 <= response.status_code < 400 and "/login" not in location
                )
                expected = "200 or a redirect elsewhere than /login"
            else:
                ok = response.status_code == 403
                expected = "403"
            checked += 1
            if not ok:
                problems.append(
                    f"{who} GET {url} ({rule.endpoint}): {response.status_code} {location}, "
                    f"expected {expected}"
                )
    assert not problems, "\n".join(problems)
    assert checked >= 4 * 8  # the auth pages alone are eight GET endpoints


def test_forbidden_page_says_so(app, db):
    world = seed_world(db)
    page = logged_in_client(app, world.committee).get("/admin/users")
    assert page.status_code == 403
    assert "Not allowed" in page.get_data(as_text=True)


def test_anonymous_is_sent_to_login_and_back(app, db):
    world = seed_world(db)
    client = logged_in_client(app, None)
    response = client.get("/admin/institutions")
    assert response.headers["Location"].endswith("/login?next=/admin/institutions")
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=/admin/institutions",
        data={"email": world.admin.email, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/institutions"


def test_staff_cannot_open_another_institutions_objects(app, db):
    """A's staff get 403 or 404 on every staff page about B's objects, whatever the endpoint."""
    world = seed_world(db)
    client = logged_in_client(app, world.staff)
    checked, problems = [], []
    for rule in protected_rules(app):
        roles = {str(r) for r in app.view_functions[rule.endpoint].allowed_roles}
        owned = set(rule.arguments) & INSTITUTION_OWNED_PARAMS
        if "GET" not in rule.methods or not owned:
            continue
        url = build_url(rule, world.other_params)
        response = client.get(url)
        checked.append(rule.endpoint)
        if response.status_code not in (403, 404):
            problems.append(
                f"staff of A GET {url} ({rule.endpoint}, roles {sorted(roles)}): "
                f"{response.status_code}, expected 403 or 404"
            )
        if "staff" in roles:
            # and the same page about A's own object opens, so the refusal above is about B
            own = client.get(build_url(rule, world.params))
            if own.status_code >= 400:
                problems.append(f"staff of A GET {own.request.path}: {own.status_code}")
    assert not problems, "\n".join(problems)
    assert {"admin.user_edit", "admin.institution_edit"} <= set(checked)


def test_post_only_endpoints_refuse_other_roles(app, db):
    """Endpoints without a page (buttons) are checked too: a valid CSRF token is not enough."""
    from tests.conftest import csrf_token_from
    from tests.test_csrf import row_counts

    world = seed_world(db)
    clients = {
        "anonymous": logged_in_client(app, None),
        "staff": logged_in_client(app, world.staff),
        "committee": logged_in_client(app, world.committee),
    }
    tokens = {
        who: csrf_token_from(c.get("/login").get_data(as_text=True)) for who, c in clients.items()
    }
    before = row_counts(db)
    checked, problems = [], []
    for rule in protected_rules(app):
        if "GET" in rule.methods:
            continue  # covered by test_access_matrix: the same view answers GET and POST
        allowed = {str(r) for r in app.view_functions[rule.endpoint].allowed_roles}
        url = build_url(rule, world.params)
        for who, client in clients.items():
            if who in allowed:
                continue
            response = client.post(url, data={"csrf_token": tokens[who], "active": "0"})
            checked.append(rule.endpoint)
            expected = (302, "/login") if who == "anonymous" else (403, "")
            location = response.headers.get("Location", "")
            if response.status_code != expected[0] or expected[1] not in location:
                problems.append(f"{who} POST {url}: {response.status_code} {location}")
    assert not problems, "\n".join(problems)
    assert row_counts(db) == before
    assert {"admin.user_set_active", "admin.user_reset_password"} <= set(checked)
