"""A registry import in Chromium: upload, watch the job's progress page, import what was checked.

With JavaScript the page polls the job's status and shows its result when it has finished;
without, it refreshes itself. Either way the upload's answer comes at once.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import serious_violations
from tests.conftest import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.sqlite_only(
        "tests/jobs/test_layer.py and tests/registry/test_views.py run the jobs, their "
        "progress and the import on PostgreSQL"
    ),
]

ROWS = 3000


@pytest.fixture
def staff(make_institution, make_user, db):
    institution = make_institution(code="QMII", name="Qarshi muhandislik-iqtisodiyot instituti")
    user = make_user("staff", institution, email="quality@qmii.example")
    db.commit()
    return user


@pytest.fixture
def programmes_file(tmp_path):
    lines = ["code,name,level,field_of_study"]
    lines += [f"P{n:05d},Programme number {n},bachelor,Engineering" for n in range(ROWS)]
    path = tmp_path / "programmes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def upload(page, base: str, path, button: str) -> None:
    page.goto(f"{base}/registry/import")
    page.get_by_label("What the file contains").select_option("programmes")
    page.get_by_label("File (CSV or Excel .xlsx)").set_input_files(str(path))
    page.get_by_role("button", name=button, exact=True).click()


def test_check_then_import_on_the_progress_page(
    live_server, new_context, staff, programmes_file, artifact
):
    page = new_context().new_page()
    log_in(page, live_server, staff.email)
    upload(page, live_server, programmes_file, "Check only")
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check of programmes.csv (Programmes)"
    )
    # the page updates itself from the job's status, then shows the result
    expect(page.get_by_role("heading", name=re.compile("no problems"))).to_be_visible(
        timeout=60_000
    )
    expect(page.locator("main")).to_contain_text(f"would create {ROWS}, update 0")
    assert serious_violations(page) == []
    page.screenshot(path=artifact("import-check-result"), full_page=True)
    page.get_by_role("button", name="Import programmes.csv now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Import of programmes.csv (Programmes)"
    )
    expect(page.locator("main")).to_contain_text(
        f"programmes.csv imported: {ROWS} created, 0 updated, 0 unchanged.", timeout=60_000
    )
    page.screenshot(path=artifact("import-done"), full_page=True)
    page.get_by_role("link", name="Show the imported rows").click()
    expect(page.locator("main")).to_contain_text(f"{ROWS} rows")
    page.get_by_role("link", name="Background jobs").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    assert serious_violations(page) == []


def test_progress_is_shown_while_the_job_runs(
    live_server, new_context, staff, tmp_path, artifact, monkeypatch
):
    """A check slowed down per chunk: the bar and the line move before the result shows."""
    from surveys.registry import imports

    # the job runs in a thread of this process: small chunks, each reported a little late,
    # so that a check of 40,000 rows (well under a second) lasts long enough to be watched;
    # once the progress has been seen and checked, the rest runs at full speed
    report = imports._Passes._report
    watched = threading.Event()

    def slow_report(self, done, message):
        if not watched.is_set():
            time.sleep(0.2)
        report(self, done, message)

    monkeypatch.setattr(imports, "ROWS_PER_CHUNK", 2_000)
    monkeypatch.setattr(imports._Passes, "_report", slow_report)
    lines = ["code,name,level,field_of_study"]
    lines += [f"Q{n:06d},Programme {n},bachelor,Engineering" for n in range(40_000)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = new_context().new_page()
    log_in(page, live_server, staff.email)
    upload(page, live_server, path, "Check only")
    line = page.locator(".job-state")
    expect(line).to_contain_text(re.compile(r"Checking rows — [\d,]+ of 40,000"), timeout=60_000)
    page.screenshot(path=artifact("import-progress"))
    assert serious_violations(page) == []
    watched.set()
    expect(page.get_by_role("heading", name=re.compile("no problems"))).to_be_visible(
        timeout=120_000
    )


def test_without_javascript_the_page_refreshes_itself(
    live_server, new_context, staff, programmes_file
):
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, live_server, staff.email)
    upload(page, live_server, programmes_file, "Import")
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator("main")).to_contain_text(
        f"programmes.csv imported: {ROWS} created", timeout=60_000
    )
