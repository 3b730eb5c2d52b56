"""The three inputs built from the database equal the ones worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from surveys.campaigns.models import CampaignStatus
from surveys.campaigns.services import create_campaign, create_invitations
from surveys.indicators.inputs import build_invited, build_outcomes, build_ratings, graduate_outcome
from surveys.orm import utcnow
from surveys.registry.models import EmploymentStatus
from surveys.responses.models import Response, ResponseStatus
from tests.campaigns.builders import SECRET
from tests.indicators.builders import ANSWERED, COHORT, YEARS, build_setting

AS_OF = dt.date(2026, 11, 30)


def rows(columns: dict) -> list[tuple]:
    return list(zip(*columns.values(), strict=True))


def test_invited_counts_sent_invitations_per_programme_year_instrument(db):
    setting = build_setting(db)
    invited = rows(build_invited(db, setting.institution.id))
    # every employed graduate (COHORT - 1 per group) was invited, in open and closed campaigns
    assert invited == [
        ("QMII", programme, year, "attestation", COHORT - 1)
        for programme in ("GEO", "OIL")
        for year in YEARS
    ]
    # a withdrawn invitation no longer counts, unless it was answered before
    oil_2025 = [
        i
        for i in setting.invitations
        if i.campaign.year == 2025 and i.graduate.programme.code == "OIL"
    ]
    answered = set(
        db.scalars(
            select(Response.invitation_id).where(Response.status == ResponseStatus.SUBMITTED)
        )
    )
    unanswered = next(i for i in oil_2025 if i.id not in answered)
    unanswered.withdrawn_at = utcnow()
    next(i for i in oil_2025 if i.id in answered).withdrawn_at = utcnow()
    # a draft campaign has sent nothing
    draft = create_campaign(
        db,
        institution_id=setting.institution.id,
        instrument_version_id=setting.version.id,
        year=2025,
        programme_ids=[setting.programmes["GEO"].id],
        name="Next round",
        allow_duplicate=True,  # a second round, on purpose
        opens_on=dt.date(2026, 5, 1),
        closes_on=dt.date(2026, 6, 1),
        status=CampaignStatus.DRAFT,
    )
    assert create_invitations(db, draft, secret_key=SECRET)  # the same pairs, not yet sent
    db.flush()
    counts = {(r[1], r[2]): r[4] for r in rows(build_invited(db, setting.institution.id))}
    assert counts == {
        ("GEO", 2024): 8,
        ("GEO", 2025): 8,
        ("OIL", 2024): 8,
        ("OIL", 2025): 7,
    }
    # scope: years and programmes narrow the table
    assert rows(build_invited(db, setting.institution.id, years=2024, programmes=["OIL"])) == [
        ("QMII", "OIL", 2024, "attestation", 8)
    ]


def test_ratings_of_the_scope_are_the_submitted_responses(db):
    setting = build_setting(db)
    table = build_ratings(db, setting.institution.id)
    assert len(set(table["response_id"])) == ANSWERED * 4
    assert set(table["year"]) == set(YEARS)
    assert set(build_ratings(db, setting.institution.id, programmes=["GEO"])["programme"]) == {
        "GEO"
    }
    only_2024 = build_ratings(db, setting.institution.id, years=[2024])
    assert set(only_2024["year"]) == {2024}


def test_outcomes_one_row_per_graduate_from_records_and_status(db):
    setting = build_setting(db)
    table = build_outcomes(db, setting.institution.id, as_of=AS_OF)
    assert len(table["subject_id"]) == COHORT * 4
    by_subject = {row[3]: row for row in rows(table)}
    oil = setting.programmes["OIL"]
    cohort = [
        g for g in setting.graduates if g.programme_id == oil.id and g.graduation_year == 2024
    ]
    first, not_employed = cohort[0], cohort[-1]
    # cohort[0]: started 1 Aug 2024 at a partner (employer 0), left after 200 days
    assert by_subject[first.pseudonym] == ("QMII", "OIL", 2024, first.pseudonym, 1, 1, 0, 1)
    # cohort[2]: started 30 Sep 2024 (2 months) at employer 2 (no agreement), still there
    third = cohort[2]
    assert by_subject[third.pseudonym][4:] == (1, 2, 1, 0)
    # status "not employed" and no record: employed 0, the rest unknown
    assert by_subject[not_employed.pseudonym][4:] == (0, None, None, None)
    # nothing that names a person
    flat = " ".join(str(v) for row in rows(table) for v in row)
    assert "Secret" not in flat and "S0" not in flat


@pytest.mark.parametrize(
    "status,job,expected",
    [
        # no record: only an explicit status says anything
        (None, None, (None, None, None, None)),
        (EmploymentStatus.FURTHER_STUDY, None, (None, None, None, None)),
        (EmploymentStatus.NOT_EMPLOYED, None, (0, None, None, None)),
        (EmploymentStatus.EMPLOYED, None, (1, None, None, None)),
        # a record wins over a status; months from 1 July; started before graduating: 0
        (EmploymentStatus.NOT_EMPLOYED, (dt.date(2024, 9, 15), None, True), (1, 2, 1, 1)),
        (None, (dt.date(2024, 3, 1), None, False), (1, 0, 1, 0)),
        (None, (dt.date(2025, 7, 1), None, False), (1, 12, 1, 0)),
        # retention: not yet 12 months → unknown; left before 12 months → 0
        (None, (dt.date(2026, 3, 1), None, True), (1, 20, None, 1)),
        (None, (dt.date(2024, 8, 1), dt.date(2025, 7, 31), True), (1, 1, 0, 1)),
        (None, (dt.date(2024, 8, 1), dt.date(2025, 8, 1), True), (1, 1, 1, 1)),
        # a planned end before 12 months that has not come yet: unknown
        (None, (dt.date(2026, 6, 1), dt.date(2026, 12, 31), True), (1, 23, None, 1)),
    ],
)
def test_graduate_outcome_rules(status, job, expected):
    outcome = graduate_outcome(2024, status, job, AS_OF)
    got = (
        outcome.employed,
        outcome.months_to_employment,
        outcome.retained_12m,
        outcome.partner_employer,
    )
    assert got == expected
