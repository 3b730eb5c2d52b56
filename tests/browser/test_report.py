"""The yearly report in Chromium: request it, watch its progress, download the PDF."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import serious_violations
from tests.conftest import TEST_PASSWORD
from tests.dashboard.builders import seed_dashboard
from tests.snapshots import built_once

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sqlite_only(
        "tests/reports/test_pages.py requests, follows and downloads reports on PostgreSQL"
    ),
]


def test_staff_request_follow_and_download_the_pdf_report(
    db, live_server, new_context, artifact, tmp_path
):
    world = built_once(db, "dashboard", seed_dashboard)
    page = new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server}/login?lang=en")
    page.fill("#email", world.staff.email)
    page.fill("#password", TEST_PASSWORD)
    page.click("main button[type=submit]")
    page.get_by_role("link", name="Yearly report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Yearly report")
    expect(page.locator("main")).to_contain_text("No report has been built yet.")
    assert serious_violations(page) == []
    page.get_by_label("Graduation year").select_option("2025")
    page.get_by_label("Format").select_option("pdf")
    page.get_by_label("Language of the report").select_option("en")
    page.get_by_role("button", name="Build the report").click()

    # the job's page: its title, then its progress while the PDF is built
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Yearly report 2025: TDTU (PDF document, English)"
    )
    line = page.locator(".job-state")
    expect(line).to_contain_text(re.compile(r"Waiting to start|Running"))
    page.screenshot(path=artifact("report-progress"))
    expect(page.get_by_role("heading", name="The report is ready")).to_be_visible(timeout=240_000)
    assert serious_violations(page) == []
    page.screenshot(path=artifact("report-ready"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(r"Download hamkor-TDTU-2025-en\.pdf")).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == "hamkor-TDTU-2025-en.pdf"
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Mechanical engineering" in text and "Partnership evidence" in text

    # the page lists the kept report with its download
    page.get_by_role("link", name="All reports").click()
    row = page.locator("table.reports tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Yearly report 2025: TDTU (PDF document, English)")
    expect(row.get_by_role("link", name=re.compile("Download"))).to_be_visible()
