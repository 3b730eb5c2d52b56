"""What the requests behind a personal link read about its invitation, in one row.

Every request of the employer's form (a page, a section's post, the submit) starts by
finding the invitation of its link, with its campaign (status, dates, form) and what a page
shows: the institution, the graduate and programme, the employer's name as the inviting
institution writes it. Loaded as ORM objects with ``joinedload`` this was a quarter of a
request's CPU (SQLAlchemy builds the row processors of seven entities for each query); here
it is one Core ``SELECT`` of the needed columns, read into the small read-only objects
below, which have the attributes and methods the views, services and templates use of the
models (``invitation.campaign.institution.name_in(language)``, ``campaign.is_accepting``).
Nothing is loaded lazily: what is not selected here does not exist on them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.tokens import find_invitation_row
from surveys.instruments.models import InstrumentVersion
from surveys.instruments.services import published_definition
from surveys.registry.models import EmployerLink, Graduate, Institution, Programme


@dataclasses.dataclass(frozen=True, slots=True)
class LinkInstitution:
    """The inviting institution: its names and privacy notices."""

    name: str
    names: dict[str, str] | None
    privacy_notice: str | None
    privacy_notices: dict[str, str] | None

    # the model's own rules (one place for "the name in a language, else the default")
    name_in = Institution.name_in
    privacy_notice_in = Institution.privacy_notice_in


@dataclasses.dataclass(frozen=True, slots=True)
class LinkProgramme:
    code: str
    name: str
    names: dict[str, str] | None

    name_in = Programme.name_in


@dataclasses.dataclass(frozen=True, slots=True)
class LinkGraduate:
    full_name: str
    graduation_year: int
    programme: LinkProgramme


@dataclasses.dataclass(frozen=True, slots=True)
class LinkEmployer:
    """The employer as the inviting institution names it (``Invitation.employer_link``)."""

    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class LinkVersion:
    """The campaign's instrument version, its definition read from the process's cache
    (:func:`surveys.instruments.services.version_definition` accepts it as a version)."""

    id: int
    checksum: str
    definition: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class LinkCampaign:
    id: int
    institution_id: int
    instrument_version_id: int
    status: CampaignStatus
    opens_on: dt.date
    closes_on: dt.date
    institution: LinkInstitution
    instrument_version: LinkVersion

    is_accepting = Campaign.is_accepting


@dataclasses.dataclass(slots=True)
class OpenLink:
    """A link's invitation as its requests read it. ``language`` and ``opened_at`` follow
    the changes a request makes (:func:`surveys.responses.services.mark_opened`, …)."""

    id: int
    campaign_id: int
    language: str
    withdrawn_at: dt.datetime | None
    declined_at: dt.datetime | None
    opened_at: dt.datetime | None
    campaign: LinkCampaign
    graduate: LinkGraduate
    employer_link: LinkEmployer | None


_invitations = Invitation.__table__
_campaigns = Campaign.__table__
_versions = InstrumentVersion.__table__
_institutions = Institution.__table__
_graduates = Graduate.__table__
_programmes = Programme.__table__
_links = EmployerLink.__table__

#: The one query of :func:`find_link` (built once: compiled and cache-keyed once).
_LINK = (
    select(
        _invitations.c.id,
        _invitations.c.campaign_id,
        _invitations.c.nonce,
        _invitations.c.language,
        _invitations.c.withdrawn_at,
        _invitations.c.declined_at,
        _invitations.c.opened_at,
        _campaigns.c.institution_id,
        _campaigns.c.instrument_version_id,
        _campaigns.c.status,
        _campaigns.c.opens_on,
        _campaigns.c.closes_on,
        _versions.c.checksum.label("version_checksum"),
        _institutions.c.name.label("institution_name"),
        _institutions.c.names.label("institution_names"),
        _institutions.c.privacy_notice,
        _institutions.c.privacy_notices,
        _graduates.c.full_name,
        _graduates.c.graduation_year,
        _programmes.c.code.label("programme_code"),
        _programmes.c.name.label("programme_name"),
        _programmes.c.names.label("programme_names"),
        _links.c.name.label("employer_name"),
    )
    .select_from(
        _invitations.join(_campaigns, _campaigns.c.id == _invitations.c.campaign_id)
        .join(_versions, _versions.c.id == _campaigns.c.instrument_version_id)
        .join(_institutions, _institutions.c.id == _campaigns.c.institution_id)
        .join(_graduates, _graduates.c.id == _invitations.c.graduate_id)
        .join(_programmes, _programmes.c.id == _graduates.c.programme_id)
        # the inviting institution's own record of the employer (unique per pair), if any
        .outerjoin(
            _links,
            (_links.c.institution_id == _campaigns.c.institution_id)
            & (_links.c.employer_id == _invitations.c.employer_id),
        )
    )
    .where(_invitations.c.token_hash == bindparam("token_hash"))
)


def find_link(session: Session, token: str, secret_key: str) -> OpenLink | None:
    """The invitation whose link carries ``token`` (checked as
    :func:`surveys.campaigns.tokens.find_invitation` does), or None."""
    row = find_invitation_row(session, token, secret_key, _LINK)
    return None if row is None else _open_link(session, row)


def _open_link(session: Session, row: Row) -> OpenLink:
    version = LinkVersion(
        row.instrument_version_id,
        row.version_checksum,
        published_definition(session, row.instrument_version_id, row.version_checksum),
    )
    institution = LinkInstitution(
        row.institution_name, row.institution_names, row.privacy_notice, row.privacy_notices
    )
    campaign = LinkCampaign(
        row.campaign_id,
        row.institution_id,
        row.instrument_version_id,
        row.status,
        row.opens_on,
        row.closes_on,
        institution,
        version,
    )
    programme = LinkProgramme(row.programme_code, row.programme_name, row.programme_names)
    return OpenLink(
        row.id,
        row.campaign_id,
        row.language,
        row.withdrawn_at,
        row.declined_at,
        row.opened_at,
        campaign,
        LinkGraduate(row.full_name, row.graduation_year, programme),
        None if row.employer_name is None else LinkEmployer(row.employer_name),
    )
