"""Creating survey campaigns and their personal invitations.

A campaign asks the employers of one graduation cohort to assess the graduates they employ:
one invitation per (employer, graduate) pair found in the employment records, each with its
own secret link (see ``surveys.campaigns.tokens``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation, campaign_programmes
from surveys.campaigns.tokens import assign_token
from surveys.datachanges import data_changed
from surveys.instruments.models import InstrumentVersion
from surveys.registry.models import Employer, EmploymentRecord, Graduate, Institution, Programme

#: Languages an invitation (and the form behind it) can be in.
INVITATION_LANGUAGES = ("uz", "ru", "en")
DEFAULT_LANGUAGE = "uz"


class CampaignError(ValueError):
    """A campaign cannot be created as asked; the message says which value and why."""


def create_campaign(
    session: Session,
    *,
    institution_id: int,
    instrument_version_id: int,
    year: int,
    programme_ids: Iterable[int],
    name: str | None,
    opens_on: dt.date,
    closes_on: dt.date,
    status: CampaignStatus = CampaignStatus.OPEN,
) -> Campaign:
    """Create a campaign of one institution's programme(s) for graduation ``year``.

    Raises :class:`CampaignError` when the institution or instrument version does not exist,
    no programme is given, a programme belongs to another institution, the year is outside
    1950..2100, or ``closes_on`` is before ``opens_on``. An empty ``name`` becomes
    "<instrument title> <year>".
    """
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise CampaignError(f"institution {institution_id} does not exist")
    version = session.get(InstrumentVersion, instrument_version_id)
    if version is None:
        raise CampaignError(f"instrument version {instrument_version_id} does not exist")
    if isinstance(year, bool) or not isinstance(year, int) or not 1950 <= year <= 2100:
        raise CampaignError(f"year must be a graduation year between 1950 and 2100, got {year!r}")
    if not isinstance(opens_on, dt.date) or not isinstance(closes_on, dt.date):
        raise CampaignError("opening and closing dates must be dates (YYYY-MM-DD)")
    if closes_on < opens_on:
        raise CampaignError(
            f"the closing date {closes_on.isoformat()} is before the opening date "
            f"{opens_on.isoformat()}"
        )
    wanted = list(dict.fromkeys(programme_ids))
    if not wanted:
        raise CampaignError("choose at least one programme")
    programmes = list(session.scalars(select(Programme).where(Programme.id.in_(wanted))))
    found = {p.id: p for p in programmes}
    missing = [str(pid) for pid in wanted if pid not in found]
    if missing:
        raise CampaignError(f"programme(s) {', '.join(missing)} do not exist")
    foreign = [p.code for p in programmes if p.institution_id != institution.id]
    if foreign:
        raise CampaignError(
            f"programme(s) {', '.join(sorted(foreign))} do not belong to institution "
            f"{institution.code}"
        )
    status = CampaignStatus(status)
    name = (name or "").strip()
    if not name:
        name = f"{version.instrument.name} {year}"
    if len(name) > 255:
        raise CampaignError("the campaign name must be at most 255 characters")

    campaign = Campaign(
        institution_id=institution.id,
        instrument_version_id=version.id,
        name=name,
        year=year,
        opens_on=opens_on,
        closes_on=closes_on,
        status=status,
        programmes=[found[pid] for pid in wanted],
    )
    session.add(campaign)
    session.flush()
    data_changed(session, institution.id)
    record_event(
        session,
        "campaigns.create",
        obj=campaign,
        details={
            "name": name,
            "instrument": version.instrument.key,
            "version": version.version,
            "year": year,
            "programmes": sorted(p.code for p in programmes),
            "opens_on": opens_on.isoformat(),
            "closes_on": closes_on.isoformat(),
            "status": status.value,
        },
    )
    return campaign


def create_invitations(
    session: Session, campaign: Campaign, *, secret_key: str, language: str | None = None
) -> list[Invitation]:
    """Invite each employer to assess each graduate of the campaign it employs.

    Pairs come from employment records of graduates of the campaign's programmes and
    graduation year. Idempotent: pairs already invited are skipped, so re-running after an
    import adds only the new ones. Returns the invitations created now. Each is addressed to
    the employer's contact e-mail, in ``language`` (default Uzbek), with a fresh token.
    """
    language = language or DEFAULT_LANGUAGE
    if language not in INVITATION_LANGUAGES:
        raise CampaignError(
            f"language must be one of {', '.join(INVITATION_LANGUAGES)}, got {language!r}"
        )
    pairs = session.execute(
        select(EmploymentRecord.employer_id, EmploymentRecord.graduate_id, Employer.contact_email)
        .join(Graduate, Graduate.id == EmploymentRecord.graduate_id)
        .join(Employer, Employer.id == EmploymentRecord.employer_id)
        .join(
            campaign_programmes,
            (campaign_programmes.c.programme_id == Graduate.programme_id)
            & (campaign_programmes.c.campaign_id == campaign.id),
        )
        .where(
            Graduate.graduation_year == campaign.year,
            Graduate.institution_id == campaign.institution_id,
        )
        .distinct()
        .order_by(EmploymentRecord.employer_id, EmploymentRecord.graduate_id)
    ).all()
    existing = set(
        session.execute(
            select(Invitation.employer_id, Invitation.graduate_id).where(
                Invitation.campaign_id == campaign.id
            )
        ).all()
    )
    new_pairs = [(e, g, email) for e, g, email in pairs if (e, g) not in existing]
    if not new_pairs:
        return []
    invitations = []
    for employer_id, graduate_id, email in new_pairs:
        invitation = Invitation(
            campaign_id=campaign.id,
            employer_id=employer_id,
            graduate_id=graduate_id,
            email=email,
            language=language,
        )
        assign_token(invitation, secret_key)
        invitations.append(invitation)
    session.add_all(invitations)
    session.flush()
    data_changed(session, campaign.institution_id)  # the response rate's denominator
    record_event(
        session,
        "campaigns.create_invitations",
        obj=campaign,
        details={
            "created": len(invitations),
            "already_invited": len(existing),
            "language": language,
            "without_email": sum(1 for i in invitations if not i.email),
        },
    )
    return invitations
