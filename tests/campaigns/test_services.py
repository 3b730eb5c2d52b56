"""Creating campaigns and their invitations from employment records."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from surveys.audit.models import AuditEvent
from surveys.campaigns.models import CampaignStatus, Invitation
from surveys.campaigns.services import CampaignError, create_campaign, create_invitations
from surveys.campaigns.tokens import find_invitation, invitation_link, token_hash
from surveys.instruments.services import latest_version, load_builtin_instruments
from tests.campaigns.builders import SECRET, campaign_for, employ


@pytest.fixture
def attestation(db):
    load_builtin_instruments(db)
    return latest_version(db, "attestation")


def test_campaign_is_created_open_with_its_programmes(db, attestation, make_programme):
    programme = make_programme(code="OIL")
    programme.institution.names = {"ru": "Каршинский институт"}
    campaign = campaign_for(db, attestation, [programme], name="  ", language="en")
    db.commit()
    assert campaign.status == CampaignStatus.OPEN
    assert [p.code for p in campaign.programmes] == ["OIL"]
    # nobody named it: instrument, year and institution, in the campaign's language
    institution = programme.institution.name
    assert campaign.name == f"{attestation.definition['title']['en']} 2025 \u2014 {institution}"
    in_russian = campaign_for(
        db, attestation, [programme], name="", language="ru", allow_duplicate=True
    )
    assert in_russian.name == (
        f"{attestation.definition['title']['ru']} 2025 \u2014 Каршинский институт"
    )
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "campaigns.create", AuditEvent.object_id == str(campaign.id)
        )
    ).one()
    assert event.institution_id == programme.institution_id
    assert event.details["programmes"] == ["OIL"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"closes_on": dt.date(2026, 1, 9)}, "closing date 2026-01-09 is before the opening date"),
        ({"year": 1900}, "year must be a graduation year between 1950 and 2100, got 1900"),
        ({"programme_ids": []}, "choose at least one programme"),
        ({"programme_ids": [999999]}, "programme(s) 999999 do not exist"),
        ({"instrument_version_id": 999999}, "instrument version 999999 does not exist"),
        ({"institution_id": 999999}, "institution 999999 does not exist"),
    ],
)
def test_campaign_validation_messages(db, attestation, make_programme, change, message):
    programme = make_programme()
    args = {
        "institution_id": programme.institution_id,
        "instrument_version_id": attestation.id,
        "year": 2025,
        "programme_ids": [programme.id],
        "name": "X",
        "opens_on": dt.date(2026, 1, 10),
        "closes_on": dt.date(2026, 3, 10),
    }
    args.update(change)
    with pytest.raises(CampaignError) as excinfo:
        create_campaign(db, **args)
    assert message in str(excinfo.value)


def test_programme_of_another_institution_is_refused(
    db, attestation, make_institution, make_programme
):
    mine = make_programme(make_institution(code="KARSHI"))
    theirs = make_programme(make_institution(code="OTHER"), code="FOREIGN")
    with pytest.raises(CampaignError, match="FOREIGN do not belong to institution KARSHI"):
        create_campaign(
            db,
            institution_id=mine.institution_id,
            instrument_version_id=attestation.id,
            year=2025,
            programme_ids=[mine.id, theirs.id],
            name="X",
            opens_on=dt.date(2026, 1, 1),
            closes_on=dt.date(2026, 2, 1),
        )


def test_invitations_pair_employers_with_the_graduates_they_employ(
    app, db, attestation, make_programme, make_graduate, make_employer
):
    programme = make_programme()
    other_programme = make_programme(programme.institution)
    ann = make_graduate(programme, graduation_year=2025)
    bob = make_graduate(programme, graduation_year=2025)
    old = make_graduate(programme, graduation_year=2024)
    elsewhere = make_graduate(other_programme, graduation_year=2025)
    unemployed = make_graduate(programme, graduation_year=2025)  # noqa: F841
    acme = make_employer(programme.institution, contact_email="hr@acme.example")
    zeta = make_employer(programme.institution, contact_email=None)
    employ(db, ann, acme)
    employ(db, ann, acme, start=dt.date(2026, 1, 1))  # a second record: still one pair
    employ(db, ann, zeta)
    employ(db, bob, zeta)
    employ(db, old, acme)
    employ(db, elsewhere, acme)
    campaign = campaign_for(db, attestation, [programme])

    created = create_invitations(db, campaign, secret_key=SECRET)
    db.commit()
    pairs = {(i.employer_id, i.graduate_id) for i in created}
    assert pairs == {(acme.id, ann.id), (zeta.id, ann.id), (zeta.id, bob.id)}
    by_pair = {(i.employer_id, i.graduate_id): i for i in created}
    assert by_pair[(acme.id, ann.id)].email == "hr@acme.example"
    assert by_pair[(zeta.id, bob.id)].email is None
    assert {i.language for i in created} == {"uz"}

    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "campaigns.create_invitations")
    ).one()
    assert event.details["created"] == 3 and event.details["without_email"] == 2

    # a new employment record after an import: re-running adds only the missing pair
    carl = make_graduate(programme, graduation_year=2025)
    employ(db, carl, acme)
    again = create_invitations(db, campaign, secret_key=SECRET, language="ru")
    db.commit()
    assert [(i.employer_id, i.graduate_id, i.language) for i in again] == [(acme.id, carl.id, "ru")]
    assert create_invitations(db, campaign, secret_key=SECRET) == []
    assert len(db.scalars(select(Invitation)).all()) == 4


def test_invitation_links_resolve_and_the_database_alone_holds_no_token(
    app, db, attestation, make_programme, make_graduate, make_employer
):
    programme = make_programme()
    graduate = make_graduate(programme)
    employ(db, graduate, make_employer())
    campaign = campaign_for(db, attestation, [programme])
    (invitation,) = create_invitations(db, campaign, secret_key=SECRET)
    db.commit()

    link = invitation_link(invitation, SECRET, app.config["HAMKOR_BASE_URL"])
    assert link.startswith("http://hamkor.test/s/")
    token = link.rsplit("/", 1)[1]
    assert find_invitation(db, token, SECRET).id == invitation.id
    assert find_invitation(db, token, "another-key") is None
    row = db.execute(select(Invitation.__table__)).mappings().one()
    assert not any(token in str(value) for value in row.values())
    assert row["token_hash"] == token_hash(token)


def test_unknown_language_is_refused(db, attestation, make_programme):
    campaign = campaign_for(db, attestation, [make_programme()])
    with pytest.raises(CampaignError, match="language must be one of uz, ru, en, got 'de'"):
        create_invitations(db, campaign, secret_key=SECRET, language="de")


def test_only_employment_that_overlaps_the_campaigns_period_invites(
    app, db, attestation, make_programme, make_graduate, make_employer
):
    programme = make_programme()
    campaign = campaign_for(db, attestation, [programme])
    opens, closes = campaign.opens_on, campaign.closes_on
    acme = make_employer(programme.institution, contact_email="hr@acme.example")
    current, left, ending, future = (
        make_graduate(programme, graduation_year=2025) for _ in range(4)
    )
    employ(db, current, acme, start=opens - dt.timedelta(days=90))  # still there
    employ(db, left, acme, start=opens - dt.timedelta(days=200)).end_date = (
        opens - dt.timedelta(days=1)  # left the day before the campaign opened
    )
    employ(db, ending, acme, start=opens - dt.timedelta(days=200)).end_date = opens
    employ(db, future, acme, start=closes + dt.timedelta(days=1))  # starts after it closes
    db.flush()
    created = create_invitations(db, campaign, secret_key=SECRET)
    assert {i.graduate_id for i in created} == {current.id, ending.id}
