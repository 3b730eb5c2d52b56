"""The campaign workspace in Chromium: staff send the invitations from the campaign page,
the employer follows the e-mailed link and submits, and the response rate moves; every
campaign page passes axe-core without a serious or critical finding."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from surveys.campaigns.models import CampaignStatus
from surveys.campaigns.services import create_invitations
from surveys.instruments.services import latest_version, load_builtin_instruments
from tests.browser.survey_form import answer_all_sections, press
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_import_job import log_in
from tests.campaigns.builders import SECRET, campaign_for, employ
from tests.campaigns.smtp import SmtpServer, bodies

pytestmark = pytest.mark.browser

TODAY = dt.date.today()


@pytest.fixture
def smtp(app):
    server = SmtpServer().start()
    app.config.update(server.config)
    yield server
    server.stop()


@pytest.fixture
def open_campaign(db, make_institution, make_programme, make_graduate, make_employer, make_user):
    load_builtin_instruments(db)
    institution = make_institution(code="KARSHI", name="Karshi Institute")
    programme = make_programme(institution, code="OIL")
    for n in range(2):
        employer = make_employer(
            institution, name=f"Employer {n}", contact_email=f"hr{n}@example.org"
        )
        employ(db, make_graduate(programme, full_name=f"Graduate {n}"), employer)
    campaign = campaign_for(
        db,
        latest_version(db, "attestation"),
        [programme],
        name="Attestation 2025",
        status=CampaignStatus.OPEN,
        opens_on=TODAY - dt.timedelta(days=1),
        closes_on=TODAY + dt.timedelta(days=30),
        language="en",
    )
    create_invitations(db, campaign, secret_key=SECRET, language="en")
    staff = make_user("staff", institution, email="quality@karshi.example")
    db.commit()
    return {"campaign": campaign, "staff": staff}


def test_send_follow_the_link_submit_and_see_the_rate_move(
    live_server, new_context, smtp, open_campaign
):
    campaign = open_campaign["campaign"]
    page = new_context().new_page()
    log_in(page, live_server, open_campaign["staff"].email)
    page.get_by_role("link", name="Campaigns").first.click()
    expect(page.get_by_role("link", name="Attestation 2025")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("link", name="Attestation 2025").click()
    expect(page.locator("[data-rate]")).to_have_text("0.0 %")
    assert serious_violations(page) == []

    page.get_by_role("button", name="Send the invitations").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_text("2 sent, 0 refused, 0 to try again later.")).to_be_visible(
        timeout=30_000
    )
    assert len(smtp.recorder.messages) == 2
    text, _html = bodies(smtp.recorder.to("hr0@example.org")[0])
    link = re.search(r"http://\S+/s/[A-Za-z0-9_-]{43}", text).group(0)
    path = link.split("/s/", 1)[1]

    employer = new_context().new_page()
    employer.goto(f"{live_server}/s/{path}")
    answer_all_sections(employer)
    press(employer, "submit")
    expect(employer.locator("h1")).to_contain_text("Thank you")

    page.goto(f"{live_server}/campaigns/{campaign.id}")
    expect(page.locator("[data-rate]")).to_have_text("50.0 %")
    page.get_by_role("link", name="Read the answers").click()
    expect(page.locator("h1")).to_have_text("Submitted answers")
    assert serious_violations(page) == []


@pytest.mark.sqlite_only("tests/campaigns/test_views.py opens these pages on PostgreSQL")
def test_campaign_pages_pass_axe(live_server, new_context, open_campaign):
    campaign = open_campaign["campaign"]
    page = new_context().new_page()
    log_in(page, live_server, open_campaign["staff"].email)
    for path in (
        "/campaigns/new",
        f"/campaigns/{campaign.id}/edit",
        f"/campaigns/{campaign.id}/pairs",
        f"/campaigns/{campaign.id}/letters",
        f"/campaigns/{campaign.id}?status=open",
    ):
        page.goto(f"{live_server}{path}")
        assert serious_violations(page) == [], path
