"""The committee's pages in Debian's Chromium: log in, filter the overview, open a programme,
see its charts drawn (SVG marks in the DOM) above their tables; axe on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import serious_violations
from tests.conftest import TEST_PASSWORD
from tests.dashboard.builders import seed_dashboard
from tests.live import requests_reaching
from tests.snapshots import built_once

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sqlite_only("tests/dashboard/test_pages.py reads these pages on PostgreSQL"),
]


def log_in(page, base: str, email: str) -> None:
    # a page of many charts on a busy test machine: more than the 10 s default
    page.set_default_timeout(60_000)
    page.goto(f"{base}/login?lang=en")
    page.fill("#email", email)
    page.fill("#password", TEST_PASSWORD)
    page.click("main button[type=submit]")


def test_committee_member_reads_the_overview_and_a_programme(
    app, db, live_server, new_context, artifact
):
    world = built_once(db, "dashboard", seed_dashboard)
    plotly_downloads = requests_reaching(app, "/charts/plotly-")
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    csp_errors = []
    # a script the CSP blocked, or one that failed, would show here
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else 0)
    page.on("pageerror", lambda e: csp_errors.append(str(e)))
    log_in(page, live_server, world.member.email)
    expect(page.locator("h1")).to_have_text("Programmes under review")
    problems = {"home": serious_violations(page)}

    page.get_by_role("link", name="Overview of the programmes").click()
    expect(page.locator("table.overview tbody tr")).to_have_count(4)
    problems["overview"] = serious_violations(page)
    page.select_option("#filter-year", "2025")
    page.fill("#filter-programme", "mech")
    page.select_option("#filter-sort", "nps")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.overview tbody tr")).to_have_count(1)
    assert "programme=mech" in page.url and "year=2025" in page.url  # bookmarkable
    page.screenshot(path=artifact("dashboard-overview"), full_page=True)

    page.get_by_role("link", name="MECH Mechanical engineering").click()
    expect(page.locator("h1")).to_have_text("MECH Mechanical engineering")
    plot = page.locator("#chart-domain-scores-plot")
    # plotly.js is 4.8 MB: parsing it on a busy test machine takes seconds
    expect(plot).to_have_attribute("data-drawn", "true", timeout=30_000)
    # plotly drew the seven bars and their interval whiskers as SVG
    expect(plot.locator("svg.main-svg .point path")).to_have_count(7)
    assert plot.locator("svg.main-svg .errorbar").count() == 7
    table = page.locator("#chart-domain-scores-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(page.locator("#chart-answers-level5-plot")).to_have_attribute("data-drawn", "true")
    trend = page.locator("#chart-trend-overall_satisfied-plot")
    expect(trend).to_have_attribute("data-drawn", "true")
    expect(trend.locator("svg.main-svg .scatterlayer .trace")).to_have_count(4)  # band, line, star
    problems["programme"] = serious_violations(page)
    page.screenshot(path=artifact("dashboard-programme"), full_page=True)

    for name, url in (
        ("compare", "/dashboard/compare"),
        ("partnerships", "/dashboard/partnerships"),
        ("methodology", "/dashboard/methodology"),
    ):
        page.goto(live_server + url, wait_until="domcontentloaded")
        if name == "compare":
            heatmap = page.locator("#chart-heatmap-plot")
            expect(heatmap).to_have_attribute("data-drawn", "true", timeout=30_000)
            page.screenshot(path=artifact("dashboard-compare"), full_page=True)
        problems[name] = serious_violations(page)
    assert not csp_errors, csp_errors
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}
    # plotly.js (4.8 MB) came once for the programme's and the comparison's charts: the
    # browser kept it, as the reader is logged in and their pages themselves are no-store
    assert [status for _, status in plotly_downloads] == [200]


def test_staff_response_rates_page(db, live_server, new_context, artifact):
    world = built_once(db, "dashboard", seed_dashboard)
    page = new_context().new_page()
    log_in(page, live_server, world.staff.email)
    page.goto(live_server + "/dashboard/response-rates", wait_until="domcontentloaded")
    expect(page.locator("#chart-responses-per-day-plot")).to_have_attribute(
        "data-drawn", "true", timeout=30_000
    )
    assert not serious_violations(page)
    page.screenshot(path=artifact("dashboard-response-rates"), full_page=True)
