"""The three inputs of :func:`analysis.compute_indicators`, built from the database.

- **Ratings**: the canonical table of :mod:`surveys.responses.ratings` (submitted responses).
- **Invited**: invitations per (institution, programme, graduation year, instrument). An
  invitation counts when its campaign is open or closed (a draft campaign has sent nothing)
  and it was not withdrawn; an invitation whose response was submitted always counts (it
  was answered, whatever happened to it later), so responses never outnumber invitations.
  The programme and year are the invited graduate's, as in the ratings table.
- **Outcomes**: one row per graduate (see :func:`graduate_outcome` for the rules).

Every builder takes a scope: one institution, optionally some graduation years and some
programme codes. Pseudonymous ids only (graduates' and employers' pseudonyms): no name,
e-mail, student number or free text ever leaves through these tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from analysis.table import INVITED_COLUMNS, OUTCOMES_COLUMNS
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import (
    EmploymentRecord,
    EmploymentStatus,
    Graduate,
    Institution,
    PartnershipAgreement,
    Programme,
)
from surveys.responses.models import Response, ResponseStatus
from surveys.responses.ratings import RATINGS_COLUMNS, ratings_columns

#: Graduates are taken to graduate on this day of their graduation year (month, day): months
#: to employment count from it. Uzbek universities hand out diplomas in June.
GRADUATION_DAY = (7, 1)
#: Months a graduate must stay with the first employer to count as retained.
RETENTION_MONTHS = 12

__all__ = [
    "GRADUATION_DAY",
    "INVITED_COLUMNS",
    "OUTCOMES_COLUMNS",
    "RATINGS_COLUMNS",
    "Outcome",
    "build_invited",
    "build_outcomes",
    "build_ratings",
    "graduate_outcome",
    "iter_invited",
    "iter_outcomes",
]


def _years(years: Collection[int] | int | None) -> list[int] | None:
    if years is None:
        return None
    return [years] if isinstance(years, int) else sorted(set(years))


def build_ratings(
    session: Session,
    institution_id: int,
    *,
    years: Collection[int] | int | None = None,
    programmes: Collection[str] | None = None,
) -> dict[str, Any]:
    """The ratings table of the scope, as columns (see :func:`ratings_columns`)."""
    return ratings_columns(
        session, year=_years(years), institution_id=institution_id, programmes=programmes
    )


def iter_invited(
    session: Session,
    institution_id: int,
    *,
    years: Collection[int] | int | None = None,
    programmes: Collection[str] | None = None,
) -> Iterator[tuple[str, str, int, str, int]]:
    """Rows ``(institution, programme, year, instrument, invited)``, sorted (see the module)."""
    submitted = (
        select(Response.invitation_id)
        .where(Response.status == ResponseStatus.SUBMITTED)
        .scalar_subquery()
    )
    counts = or_(
        and_(Campaign.status != CampaignStatus.DRAFT, Invitation.withdrawn_at.is_(None)),
        Invitation.id.in_(submitted),
    )
    query = (
        select(
            Institution.code,
            Programme.code,
            Graduate.graduation_year,
            Instrument.key,
            func.count(Invitation.id),
        )
        .select_from(Invitation)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .join(Institution, Institution.id == Campaign.institution_id)
        .join(Graduate, Graduate.id == Invitation.graduate_id)
        .join(Programme, Programme.id == Graduate.programme_id)
        .join(InstrumentVersion, InstrumentVersion.id == Campaign.instrument_version_id)
        .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
        .where(Campaign.institution_id == institution_id, counts)
        .group_by(Institution.code, Programme.code, Graduate.graduation_year, Instrument.key)
        .order_by(Programme.code, Graduate.graduation_year, Instrument.key)
    )
    wanted = _years(years)
    if wanted is not None:
        query = query.where(Graduate.graduation_year.in_(wanted))
    if programmes is not None:
        query = query.where(Programme.code.in_(list(programmes)))
    for institution, programme, year, instrument, invited in session.execute(query):
        yield institution, programme, int(year), instrument, int(invited)


def build_invited(
    session: Session,
    institution_id: int,
    *,
    years: Collection[int] | int | None = None,
    programmes: Collection[str] | None = None,
) -> dict[str, list[Any]]:
    """The invited table of the scope, as columns."""
    return _columns(
        INVITED_COLUMNS,
        iter_invited(session, institution_id, years=years, programmes=programmes),
    )


@dataclass(frozen=True)
class Outcome:
    """One graduate's outcome: 1 / 0 / None (unknown) and months (None when unknown)."""

    employed: int | None
    months_to_employment: int | None
    retained_12m: int | None
    partner_employer: int | None


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def graduate_outcome(
    graduation_year: int,
    status: EmploymentStatus | None,
    first_job: tuple[dt.date, dt.date | None, bool] | None,
    as_of: dt.date,
) -> Outcome:
    """The outcome of one graduate, from the registry, as of ``as_of``.

    ``first_job`` is the earliest employment record: (start date, end date or None, whether
    its employer has a partnership agreement of any kind with the institution).

    - **employed** = 1 when the graduate has an employment record or the recorded status is
      ``employed``; 0 only when the recorded status is ``not_employed`` and there is no
      record; otherwise unknown: the absence of a record is not proof of unemployment, and a
      graduate in further study is outside the labour market (not in the denominator).
    - **months_to_employment**: whole months from the graduation day (1 July of the
      graduation year) to the first record's start, 0 when it started before; unknown
      without a record.
    - **retained_12m** (first record only): 1 when it lasted 12 months (still open 12
      months after its start, or ended 12 months or more after it), 0 when it ended sooner,
      unknown while fewer than 12 months have passed or without a record.
    - **partner_employer** (first record only): 1 when its employer has an agreement of any
      kind with the institution, 0 when not, unknown without a record.
    """
    if first_job is None:
        employed = {EmploymentStatus.EMPLOYED: 1, EmploymentStatus.NOT_EMPLOYED: 0}.get(
            status  # type: ignore[arg-type]
        )
        return Outcome(employed, None, None, None)
    start, end, partner = first_job
    graduated = dt.date(graduation_year, *GRADUATION_DAY)
    months = (start.year - graduated.year) * 12 + start.month - graduated.month
    if start.day < graduated.day:
        months -= 1
    anniversary = _add_months(start, RETENTION_MONTHS)
    if end is not None and end < anniversary:
        retained = 0 if end <= as_of else None  # a planned end can still be extended
    elif anniversary <= as_of:
        retained = 1
    else:
        retained = None
    return Outcome(1, max(0, months), retained, 1 if partner else 0)


def iter_outcomes(
    session: Session,
    institution_id: int,
    *,
    as_of: dt.date,
    years: Collection[int] | int | None = None,
    programmes: Collection[str] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Rows in :data:`OUTCOMES_COLUMNS` order, one per graduate of the scope (sorted)."""
    code = session.scalar(select(Institution.code).where(Institution.id == institution_id))
    graduates = (
        select(
            Graduate.id,
            Programme.code,
            Graduate.graduation_year,
            Graduate.pseudonym,
            Graduate.employment_status,
        )
        .join(Programme, Programme.id == Graduate.programme_id)
        .where(Graduate.institution_id == institution_id)
        .order_by(Programme.code, Graduate.graduation_year, Graduate.pseudonym)
    )
    wanted = _years(years)
    if wanted is not None:
        graduates = graduates.where(Graduate.graduation_year.in_(wanted))
    if programmes is not None:
        graduates = graduates.where(Programme.code.in_(list(programmes)))
    partners = set(
        session.scalars(
            select(PartnershipAgreement.employer_id)
            .where(PartnershipAgreement.institution_id == institution_id)
            .distinct()
        )
    )
    # the earliest employment record of each graduate of the institution (start, then id)
    first: dict[int, tuple[dt.date, dt.date | None, bool]] = {}
    jobs = (
        select(
            EmploymentRecord.graduate_id,
            EmploymentRecord.start_date,
            EmploymentRecord.end_date,
            EmploymentRecord.employer_id,
        )
        .join(Graduate, Graduate.id == EmploymentRecord.graduate_id)
        .where(Graduate.institution_id == institution_id)
        .order_by(EmploymentRecord.graduate_id, EmploymentRecord.start_date, EmploymentRecord.id)
    )
    for graduate_id, start, end, employer_id in session.execute(jobs):
        if graduate_id not in first:
            first[graduate_id] = (start, end, employer_id in partners)
    for graduate_id, programme, year, pseudonym, status in session.execute(graduates):
        outcome = graduate_outcome(year, status, first.get(graduate_id), as_of)
        yield (
            code,
            programme,
            int(year),
            pseudonym,
            outcome.employed,
            outcome.months_to_employment,
            outcome.retained_12m,
            outcome.partner_employer,
        )


def build_outcomes(
    session: Session,
    institution_id: int,
    *,
    as_of: dt.date,
    years: Collection[int] | int | None = None,
    programmes: Collection[str] | None = None,
) -> dict[str, list[Any]]:
    """The outcomes table of the scope, as columns (unknown values are None)."""
    return _columns(
        OUTCOMES_COLUMNS,
        iter_outcomes(session, institution_id, as_of=as_of, years=years, programmes=programmes),
    )


def _columns(names: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [] for name in names}
    appenders = [columns[name].append for name in names]
    for row in rows:
        for append, value in zip(appenders, row, strict=True):
            append(value)
    return columns
