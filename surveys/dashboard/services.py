"""What a committee member reads: the programmes assigned to them and aggregated counts."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.admin.services import assigned_programme_ids
from surveys.auth.models import User
from surveys.campaigns.models import Invitation
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import Graduate, Institution, Programme
from surveys.responses.models import Response, ResponseStatus

#: Smallest group whose count a committee member may see exactly (privacy rule ``min_n``).
MIN_GROUP_SIZE = 5


@dataclasses.dataclass(frozen=True)
class ResponseCountRow:
    """Submitted responses for one programme × graduation year × instrument.

    ``count`` is None when the group is smaller than :data:`MIN_GROUP_SIZE` (shown "< 5").
    """

    institution_code: str
    institution_name: str
    programme_code: str
    programme_name: str
    year: int
    instrument: str
    count: int | None

    @property
    def suppressed(self) -> bool:
        return self.count is None


def committee_response_counts(session: Session, user: User) -> list[ResponseCountRow]:
    """Submitted responses per programme × year × instrument in the member's scope.

    Only counts leave the database (no names, e-mails or student numbers); a count of 1–4
    is suppressed, because such a small group could identify a graduate or an employer.
    """
    programme_ids = assigned_programme_ids(session, user)
    if not programme_ids:
        return []
    n = func.count(Response.id)
    rows = session.execute(
        select(
            Institution.code,
            Institution.name,
            Programme.code,
            Programme.name,
            Graduate.graduation_year,
            Instrument.key,
            n,
        )
        .select_from(Response)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Graduate, Invitation.graduate_id == Graduate.id)
        .join(Programme, Graduate.programme_id == Programme.id)
        .join(Institution, Programme.institution_id == Institution.id)
        .join(InstrumentVersion, Response.instrument_version_id == InstrumentVersion.id)
        .join(Instrument, InstrumentVersion.instrument_id == Instrument.id)
        .where(Response.status == ResponseStatus.SUBMITTED, Programme.id.in_(programme_ids))
        .group_by(
            Institution.code,
            Institution.name,
            Programme.code,
            Programme.name,
            Graduate.graduation_year,
            Instrument.key,
        )
        .order_by(Institution.code, Programme.code, Graduate.graduation_year.desc(), Instrument.key)
    ).all()
    return [
        ResponseCountRow(
            ic, iname, pc, pname, year, key, count if count >= MIN_GROUP_SIZE else None
        )
        for ic, iname, pc, pname, year, key, count in rows
    ]


def assigned_programmes(session: Session, user: User) -> list[Programme]:
    """The programmes a committee member may read, by institution and code."""
    programme_ids = assigned_programme_ids(session, user)
    if not programme_ids:
        return []
    stmt = (
        select(Programme)
        .where(Programme.id.in_(programme_ids))
        .join(Institution)
        .order_by(Institution.code, Programme.code)
    )
    return list(session.scalars(stmt))
