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


#: Each role's pages are checked in this many parts (every ``PARTS``-th page of the URL map
#: from a different start), so that xdist spreads the sweep over its workers.
PARTS = 2
#: Pages each role's sweep must reach: its home, and the import page of issue 13.
EXPECTED = {
    "admin": {"admin.users", "registry.import_upload", "audit.log"},
    "staff": {"registry.overview", "registry.import_upload"},
    "committee": {"dashboard.committee_home"},
}


@pytest.mark.parametrize("part", range(PARTS))
@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_no_logged_in_page_of_any_role_has_a_serious_accessibility_problem(
    app, db, live_server, new_context, database_url, role, part
):
    if not database_url.startswith("sqlite"):
        pytest.skip("the pages' markup does not depend on the database: checked once, on SQLite")
    world = seed_world(db)
    user = {"admin": world.admin, "staff": world.staff, "committee": world.committee}[role]
    problems: dict[str, list[str]] = {}
    checked: list[str] = []
    context = new_context()
    page = context.new_page()
    log_in(page, live_server, user.email)
    rules = [
        rule
        for rule in protected_rules(app)
        if "GET" in rule.methods
        and role in {str(r) for r in app.view_functions[rule.endpoint].allowed_roles}
    ]
    mine = rules[part::PARTS]
    for rule in mine:
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
    # the sweep saw the pages it should (those of this part)
    assert checked, f"no page of {role}'s part {part} was checked"
    assert EXPECTED[role] & {rule.endpoint for rule in mine} <= set(checked)
    assert {rule.endpoint for rule in rules} >= EXPECTED[role]
