"""Builders for campaign and response tests: they add and flush, never commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.campaigns.models import Campaign
from surveys.campaigns.services import create_campaign
from surveys.instruments.models import InstrumentVersion
from surveys.registry.models import (
    Employer,
    EmployerLink,
    EmploymentRecord,
    Graduate,
    Institution,
    Programme,
)
from tests import factories

SECRET = "test-secret-key-0123456789abcdef"  # the ``app`` fixture's SECRET_KEY


def employ(
    session: Session, graduate: Graduate, employer: Employer, start: dt.date | None = None
) -> EmploymentRecord:
    """An employment record; the graduate's institution gets a link to the employer first
    if it has none (an import would refuse the record otherwise)."""
    institution = session.get(Institution, graduate.institution_id)
    if not session.scalar(
        select(EmployerLink.id).where(
            EmployerLink.institution_id == institution.id, EmployerLink.employer_id == employer.id
        )
    ):
        factories.link_employer(session, institution, employer, contact_email=None)
    record = EmploymentRecord(
        graduate=graduate,
        employer=employer,
        position="Engineer",
        start_date=start or dt.date(2025, 9, 1),
    )
    session.add(record)
    session.flush()
    return record


def campaign_for(
    session: Session,
    version: InstrumentVersion,
    programmes: list[Programme],
    *,
    year: int = 2025,
    **kw,
) -> Campaign:
    return create_campaign(
        session,
        institution_id=programmes[0].institution_id,
        instrument_version_id=version.id,
        year=year,
        programme_ids=[p.id for p in programmes],
        name=kw.pop("name", "Employers 2025"),
        opens_on=kw.pop("opens_on", dt.date(2026, 1, 10)),
        closes_on=kw.pop("closes_on", dt.date(2026, 3, 10)),
        **kw,
    )


def make_employer(session: Session, **kw) -> Employer:
    return factories.make_employer(session, **kw)
