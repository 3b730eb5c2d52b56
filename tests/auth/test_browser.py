"""The auth pages in a real Chromium: role-dependent fields and an axe accessibility check."""

from __future__ import annotations

import pytest

from surveys.models import CommitteeAssignment
from tests import factories
from tests.conftest import TEST_PASSWORD
from tests.live import chromium, serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sqlite_only("tests/auth checks the same pages and forms on PostgreSQL"),
]


@pytest.fixture
def live_server(app):
    """The app served on a free local port for the duration of the test."""
    with serving(app) as base:
        yield base


@pytest.fixture
def browser_page():
    with chromium() as browser:
        yield browser.new_page(locale="en-GB")


def log_in(page, base, email):
    page.goto(f"{base}/login?lang=en")
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    page.click("main button[type=submit]")


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
    ]


def test_admin_pages_are_accessible_and_the_user_form_adapts_to_the_role(
    live_server, browser_page, db, make_user, make_institution, make_programme
):
    page, base = browser_page, live_server
    institution = make_institution(code="TDTU", name="Tashkent Technical")
    make_programme(institution, code="MECH")
    employer = factories.make_employer(db, institution, name="Navoiyazot", tax_number="302345679")
    make_user("admin", email="root@hamkor.example")
    db.commit()
    log_in(page, base, "root@hamkor.example")
    assert page.url.endswith("/admin/users")

    page.goto(f"{base}/admin/users/new")
    assert page.is_visible("#institution") and not page.is_visible("#assignments")
    page.select_option("#role", "committee")
    assert page.is_visible("#assignments") and not page.is_visible("#institution")
    page.select_option("#role", "staff")
    page.fill("#email", "not an e-mail")
    page.fill("#password", "short")
    page.click("main form[method=post] button[type=submit]")
    assert page.get_attribute("#email", "aria-invalid") == "true"
    assert "email-error" in page.get_attribute("#email", "aria-describedby")

    problems = {}
    for path in (
        "/admin/users/new",
        "/admin/users",
        "/admin/institutions",
        "/admin/institutions/new",
        f"/admin/institutions/{institution.id}",
        "/admin/enterprises",
        f"/admin/enterprises/{employer.id}",
        "/audit",
        "/account/password",
    ):
        page.goto(base + path)
        if found := axe_violations(page):
            problems[path] = found
    page.goto(f"{base}/admin/users/new")
    page.fill("#email", "bad")
    page.click("main form[method=post] button[type=submit]")
    if found := axe_violations(page):
        problems["/admin/users/new (with errors)"] = found
    page.goto(f"{base}/admin/enterprises/{employer.id}")
    page.fill("#tax_number", "12ab")
    page.click("main form[method=post] button[type=submit]")
    assert page.get_attribute("#tax_number", "aria-invalid") == "true"
    if found := axe_violations(page):
        problems["/admin/enterprises/<id> (with errors)"] = found
    assert not problems, problems


def test_committee_home_is_accessible(live_server, browser_page, db, make_user, make_institution):
    page, base = browser_page, live_server
    member = make_user("committee", email="member@committee.uz")
    db.add(CommitteeAssignment(user=member, institution=make_institution(code="TDTU")))
    db.commit()
    log_in(page, base, "member@committee.uz")
    assert page.url.endswith("/committee")
    assert axe_violations(page) == []
