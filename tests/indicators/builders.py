"""A small institution with two programmes, two cohorts, partners and submitted responses.

Everything goes through the services a user's actions go through (campaign creation,
invitations, the employer's submit), so the data versions move as they do in production.
Builders flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from sqlalchemy.orm import Session

from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.services import create_campaign, create_invitations
from surveys.instruments.definitions import numeric_items
from surveys.instruments.models import InstrumentVersion
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.registry.models import (
    AgreementKind,
    Employer,
    EmploymentRecord,
    EmploymentStatus,
    Graduate,
    Institution,
    PartnershipAgreement,
    Programme,
)
from surveys.responses.services import submit
from tests import factories
from tests.campaigns.builders import SECRET
from tests.snapshots import built_once

YEARS = (2024, 2025)
#: (code, name) of the two programmes
PROGRAMMES = (("OIL", "Oil and gas machines"), ("GEO", "Geology of oil fields"))
#: graduates per programme and year, and how many of their invitations are answered
COHORT = 9
ANSWERED = 7


@dataclasses.dataclass
class Setting:
    institution: Institution
    programmes: dict[str, Programme]
    version: InstrumentVersion
    employers: list[Employer]
    graduates: list[Graduate]
    campaigns: dict[int, Campaign]
    invitations: list[Invitation]


def answers(version: InstrumentVersion, rng: random.Random) -> dict[str, int]:
    """A complete set of numeric answers (texts are optional and left out)."""
    values = {}
    for item in numeric_items(version.definition):
        low, high = item["scale_min"], item["scale_max"]
        values[item["key"]] = rng.randint(max(low, high - 3), high)
    return values


def build_setting(db: Session, *, seed: int = 7, code: str = "QMII") -> Setting:
    rng = random.Random(seed)
    load_builtin_instruments(db)
    version = latest_version(db, "attestation")
    institution = factories.make_institution(db, code=code, name=f"{code} Institute")
    programmes = {
        c: factories.make_programme(db, institution, code=c, name=name) for c, name in PROGRAMMES
    }
    employers = [
        factories.make_employer(db, institution, name=f"Enterprise {code} {i}") for i in range(4)
    ]
    for number, employer in enumerate(employers[:2]):  # two partners
        db.add(
            PartnershipAgreement(
                institution=institution,
                employer=employer,
                kind=(AgreementKind.INTERNSHIP, AgreementKind.TARGETED_TRAINING)[number],
                number=f"AG-{code}-{number}",
                signed_on=dt.date(2020, 1, 10),
                valid_from=dt.date(2020, 2, 1),
            )
        )
    graduates = []
    for year in YEARS:
        for programme in programmes.values():
            for i in range(COHORT):
                graduate = factories.make_graduate(
                    db, programme, graduation_year=year, full_name=f"Secret Person {year}{i}"
                )
                graduates.append(graduate)
                if i == COHORT - 1:
                    graduate.employment_status = EmploymentStatus.NOT_EMPLOYED
                    continue
                employer = employers[i % len(employers)]
                start = dt.date(year, 8, 1) + dt.timedelta(days=30 * (i % 4))
                end = start + dt.timedelta(days=200) if i % 5 == 0 else None
                db.add(
                    EmploymentRecord(
                        graduate=graduate,
                        employer=employer,
                        position="Engineer",
                        start_date=start,
                        end_date=end,
                    )
                )
    db.flush()
    campaigns, invitations = {}, []
    for year in YEARS:
        campaign = create_campaign(
            db,
            institution_id=institution.id,
            instrument_version_id=version.id,
            year=year,
            programme_ids=[p.id for p in programmes.values()],
            name=f"Attestation {year}",
            opens_on=dt.date(year + 1, 1, 10),
            closes_on=dt.date(year + 1, 3, 10),
        )
        made = sorted(
            create_invitations(db, campaign, secret_key=SECRET), key=lambda i: i.graduate_id
        )
        by_programme: dict[int, list[Invitation]] = {}
        for invitation in made:
            by_programme.setdefault(invitation.graduate.programme_id, []).append(invitation)
        for group in by_programme.values():
            for invitation in group[:ANSWERED]:
                submit(db, invitation, answers(version, rng), language="en")
        if year < YEARS[-1]:
            campaign.status = CampaignStatus.CLOSED
        campaigns[year] = campaign
        invitations.extend(made)
    db.flush()
    return Setting(institution, programmes, version, employers, graduates, campaigns, invitations)


def committed_setting(db: Session) -> Setting:
    """:func:`build_setting`'s world, committed: built once per test database, then restored
    from its rows (``tests/snapshots.py``)."""

    def build(session: Session) -> Setting:
        setting = build_setting(session)
        session.commit()
        return setting

    return built_once(db, "setting", build)
