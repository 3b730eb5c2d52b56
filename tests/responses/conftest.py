"""An open attestation campaign with one invitation, and helpers to post its form."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from surveys.campaigns.models import Invitation
from surveys.campaigns.services import create_invitations
from surveys.campaigns.tokens import token_for
from surveys.instruments.services import latest_version, load_builtin_instruments
from tests.attestation import SECTION_ITEMS
from tests.campaigns.builders import SECRET, campaign_for, employ
from tests.conftest import csrf_token_from

#: Every item of the attestation's first section (all required scale items).
FIRST_SECTION = SECTION_ITEMS[0]


@dataclasses.dataclass
class Link:
    token: str
    invitation_id: int
    campaign_id: int

    @property
    def url(self) -> str:
        return f"/s/{self.token}"


@pytest.fixture
def link(db, make_institution, make_programme, make_graduate, make_employer) -> Link:
    """A personal link of an open attestation campaign (English invitation)."""
    return make_link(db, make_institution, make_programme, make_graduate, make_employer)


def make_link(
    db,
    make_institution,
    make_programme,
    make_graduate,
    make_employer,
    *,
    language="en",
    instrument="attestation",
    **campaign,
) -> Link:
    load_builtin_instruments(db)
    institution = make_institution(code="KARSHI", name="Karshi Engineering Institute")
    programme = make_programme(institution, code="OGM", name="Oil and gas machines")
    graduate = make_graduate(programme, graduation_year=2025, full_name="Dilnoza Karimova")
    employer = make_employer(name="Shurtan Gas Chemical Complex")
    employ(db, graduate, employer)
    today = dt.date.today()
    found = campaign_for(
        db,
        latest_version(db, instrument),
        [programme],
        opens_on=campaign.pop("opens_on", today - dt.timedelta(days=10)),
        closes_on=campaign.pop("closes_on", today + dt.timedelta(days=30)),
        **campaign,
    )
    (invitation,) = create_invitations(db, found, secret_key=SECRET, language=language)
    db.commit()
    return Link(token_for(invitation.nonce, SECRET), invitation.id, found.id)


def post_section(client, link: Link, section: int, answers: dict, action: str = "save", **kw):
    """Post ``answers`` on ``section`` as the browser would, with the page's CSRF token."""
    page = client.get(f"{link.url}?section={section}")
    data = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), "section": str(section)}
    data["action"] = action
    data.update(answers)
    return client.post(link.url, data=data, **kw)


def checked_values(html: str) -> dict[str, str]:
    """Radio values checked in a page: name → value."""
    found = {}
    for tag in re.findall(r"<input[^>]*type=\"radio\"[^>]*>", html):
        if " checked" in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            found[name] = re.search(r'value="([^"]+)"', tag).group(1)
    return found


def invitation_of(db, link: Link) -> Invitation:
    db.expire_all()
    return db.get(Invitation, link.invitation_id)
