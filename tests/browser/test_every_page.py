"""Every logged-in page of every role in Chromium: axe-core finds nothing serious.

The pages come from the URL map, as in the access matrix (``tests/test_access_matrix.py``),
with the objects of the seeded world (``tests/world.py``): a page another feature adds later
is checked without anyone listing it. Downloads (CSV templates, exports) are skipped; every
HTML page a role may open is loaded and checked.
"""

from __future__ import annotations

import pytest

from tests.browser.test_accessibility import serious_violations
from tests.conftest import TEST_PASSWORD
from tests.test_access_matrix import build_url, protected_rules
from tests.world import seed_world

pytestmark = pytest.mark.browser


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/login" not in page.url, f"{email} could not log in"


#: Pages each role's sweep must reach: its home, and the import page of issue 13.
EXPECTED = {
    "admin": {"admin.users", "registry.import_upload", "audit.log"},
    "staff": {"registry.overview", "registry.import_upload"},
    "committee": {"dashboard.committee_home"},
}


@pytest.mark.sqlite_only("tests/test_access_matrix.py opens every page on PostgreSQL")
@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_no_logged_in_page_of_any_role_has_a_serious_accessibility_problem(
    app, db, live_server, new_context, role
):
    """One role per test, so that xdist can spread the sweep over its workers. (Splitting a
    role's pages further costs more than it saves: each part's new browser context loads
    and parses the CSS and scripts again: six parts took 157 s where the whole took 106 s.)"""
    world = seed_world(db)
    user = {"admin": world.admin, "staff": world.staff, "committee": world.committee}[role]
    problems: dict[str, list[str]] = {}
    checked: list[str] = []
    context = new_context()
    page = context.new_page()
    log_in(page, live_server, user.email)
    for rule in protected_rules(app):
        roles = {str(r) for r in app.view_functions[rule.endpoint].allowed_roles}
        if "GET" not in rule.methods or role not in roles:
            continue
        url = live_server + build_url(rule, world.params)
        head = context.request.get(url, max_redirects=0)
        if not head.headers.get("content-type", "").startswith("text/html"):
            continue  # a download
        page.goto(url)
        found = serious_violations(page)
        checked.append(rule.endpoint)
        if found:
            problems[f"{role} {url}"] = found
    assert not problems, problems
    # the sweep saw the pages it should: the role's home, and the import page of issue 13
    assert EXPECTED[role] <= set(checked)
