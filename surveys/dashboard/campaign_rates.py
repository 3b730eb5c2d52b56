"""Response rates per campaign, for the staff of the institution (counts, no names).

Staff run the campaigns and may see their own counts exactly; committees never open this
page. A campaign's invited are its invitations that were not withdrawn; its submitted the
responses submitted through them; the day of a submission is the day in
``HAMKOR_TIMEZONE``, as the campaign's opening and closing days are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.auth.models import User
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.charts import Chart, figures
from surveys.dashboard.scope import OutOfScope, institution_for_reader, reader_scope
from surveys.indicators.presentation import display_names
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import Institution
from surveys.responses.models import Response, ResponseStatus


@dataclasses.dataclass(frozen=True)
class CampaignRate:
    campaign_id: int
    name: str
    instrument: str
    year: int
    status: CampaignStatus
    opens_on: dt.date
    closes_on: dt.date
    invited: int
    submitted: int


@dataclasses.dataclass
class CampaignRatesPage:
    institution: Institution | None
    campaigns: list[CampaignRate]
    selected: CampaignRate | None
    #: responses per day of the selected campaign
    chart: Chart | None = None


def campaign_rates_page(
    session: Session,
    user: User,
    *,
    institution_code: str | None,
    campaign_id: int | None,
    language: str,
    timezone: str,
) -> CampaignRatesPage:
    """Every campaign of the institution with its invited and submitted counts, and the
    submissions per day of one campaign (the newest unless ``campaign_id`` names one)."""
    scope = reader_scope(session, user)
    institution = institution_for_reader(session, scope, institution_code)
    page = CampaignRatesPage(institution, [], None)
    if institution is None:
        return page
    titles = display_names(session, institution.id, language).instruments
    invited = func.count(Invitation.id)
    submitted = func.count(Response.id)
    stmt = (
        select(Campaign, Instrument.key, invited, submitted)
        .join(InstrumentVersion, InstrumentVersion.id == Campaign.instrument_version_id)
        .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
        .outerjoin(
            Invitation,
            (Invitation.campaign_id == Campaign.id) & Invitation.withdrawn_at.is_(None),
        )
        .outerjoin(
            Response,
            (Response.invitation_id == Invitation.id)
            & (Response.status == ResponseStatus.SUBMITTED),
        )
        .where(Campaign.institution_id == institution.id)
        .group_by(Campaign.id, Instrument.key)
        .order_by(Campaign.year.desc(), Campaign.opens_on.desc(), Campaign.id.desc())
    )
    for campaign, key, n_invited, n_submitted in session.execute(stmt):
        page.campaigns.append(
            CampaignRate(
                campaign.id,
                campaign.name,
                titles.get(key, key),
                campaign.year,
                campaign.status,
                campaign.opens_on,
                campaign.closes_on,
                n_invited,
                n_submitted,
            )
        )
    if campaign_id is not None:
        chosen = [c for c in page.campaigns if c.campaign_id == campaign_id]
        if not chosen:
            raise OutOfScope(f"campaign {campaign_id}")
        page.selected = chosen[0]
    elif page.campaigns:
        page.selected = page.campaigns[0]
    if page.selected is not None:
        page.chart = figures.responses_per_day(
            submissions_per_day(session, page.selected.campaign_id, timezone),
            invited=page.selected.invited,
        )
    return page


def submissions_per_day(
    session: Session, campaign_id: int, timezone: str
) -> list[tuple[dt.date, int]]:
    """(day, responses submitted that day) of a campaign, days in ``timezone``, in order."""
    zone = ZoneInfo(timezone)
    stamps = session.scalars(
        select(Response.submitted_at)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .where(
            Invitation.campaign_id == campaign_id,
            Response.status == ResponseStatus.SUBMITTED,
            Response.submitted_at.is_not(None),
        )
    )
    per_day = Counter(stamp.astimezone(zone).date() for stamp in stamps if stamp is not None)
    return sorted(per_day.items())
