"""Partnership evidence: the enterprises an institution cooperates with, and what came of it.

The seed paper's model of cooperation, as a committee checks it: per programme, the partner
enterprises (those with an agreement of any kind with the institution), the kinds of their
agreements, how many of the programme's graduates each took as interns with an enterprise
mentor, employs, and of those how many were assessed. Only counts leave the database, each
column suppressed under ``min_n`` by :func:`analysis.counts.suppress_column`; enterprises
appear by name only here, as partners, never beside a rating.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from analysis.counts import SuppressedColumn, suppress_column
from surveys.auth.models import User
from surveys.campaigns.models import Invitation
from surveys.dashboard.scope import (
    ReaderScope,
    institution_for_reader,
    readable_institutions,
    readable_programmes,
    scope_of,
)
from surveys.indicators.settings import current_settings
from surveys.registry.models import (
    AgreementKind,
    EmployerLink,
    EmploymentRecord,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
)
from surveys.responses.models import Response, ResponseStatus


@dataclasses.dataclass(frozen=True)
class PartnerRow:
    """One partner enterprise of one programme: counts of graduates (None = hidden)."""

    enterprise: str
    kinds: tuple[AgreementKind, ...]
    interns: int | None
    employed: int | None
    assessed: int | None


@dataclasses.dataclass(frozen=True)
class ProgrammePartners:
    programme: Programme
    partners: tuple[PartnerRow, ...]
    interns: int | None  #: totals over the programme's partners (None = hidden)
    employed: int | None
    assessed: int | None


@dataclasses.dataclass
class PartnershipPage:
    institution: Institution | None
    institutions: list[Institution]
    years: list[int]
    year: int | None  #: graduation year; None = every cohort
    #: kind of agreement → number of partner enterprises with one
    kinds: list[tuple[AgreementKind, int]]
    programmes: list[ProgrammePartners]
    min_n: int

    @property
    def with_partners(self) -> list[ProgrammePartners]:
        """The programmes with a partner enterprise: a table each."""
        return [entry for entry in self.programmes if entry.partners]

    @property
    def without_partners(self) -> list[Programme]:
        """The programmes without one: listed together (a new institution has hundreds)."""
        return [entry.programme for entry in self.programmes if not entry.partners]


def partnership_page(
    session: Session, user: User | ReaderScope, *, institution_code: str | None, year: int | None
) -> PartnershipPage:
    """The partnership evidence of one institution's readable programmes (cohort ``year``),
    counts hidden under the institution's ``min_n``."""
    scope = scope_of(session, user)
    institution = institution_for_reader(session, scope, institution_code)
    page = PartnershipPage(institution, readable_institutions(session, scope), [], None, [], [], 5)
    if institution is None:
        return page
    min_n = page.min_n = current_settings(session, institution.id).min_n
    programmes = readable_programmes(session, scope, institution.id)
    page.years = list(
        session.scalars(
            select(Graduate.graduation_year)
            .where(Graduate.institution_id == institution.id)
            .distinct()
            .order_by(Graduate.graduation_year.desc())
        )
    )
    page.year = year if year in page.years else None
    kinds: dict[int, set[AgreementKind]] = defaultdict(set)
    for employer_id, kind in session.execute(
        select(PartnershipAgreement.employer_id, PartnershipAgreement.kind)
        .where(PartnershipAgreement.institution_id == institution.id)
        .distinct()
    ):
        kinds[employer_id].add(kind)
    per_kind: dict[AgreementKind, int] = defaultdict(int)
    for employer_kinds in kinds.values():
        for kind in employer_kinds:
            per_kind[kind] += 1
    page.kinds = [(kind, per_kind[kind]) for kind in AgreementKind if per_kind[kind]]
    if not programmes or not kinds:
        page.programmes = [ProgrammePartners(p, (), 0, 0, 0) for p in programmes]
        return page
    ids = [p.id for p in programmes]
    partners = list(kinds)
    employed = _counts(_employed(ids, partners, page.year), session)
    assessed = _counts(_assessed(ids, partners, page.year), session)
    interns = _counts(_interns(ids, partners, page.year), session)
    # the name this institution uses for each partner (its own record, never another's)
    names = {
        e: name
        for e, name in session.execute(
            select(EmployerLink.employer_id, EmployerLink.name).where(
                EmployerLink.institution_id == institution.id,
                EmployerLink.employer_id.in_(partners),
            )
        )
    }
    for programme in programmes:
        enterprises = sorted(
            {e for (p, e) in (*employed, *interns) if p == programme.id},
            key=lambda e: names.get(e, ""),
        )
        columns = {
            name: suppress_column(
                [source.get((programme.id, e), 0) for e in enterprises], min_n=min_n
            )
            for name, source in (
                ("interns", interns),
                ("employed", employed),
                ("assessed", assessed),
            )
        }
        rows = tuple(
            PartnerRow(
                names.get(e, ""),
                tuple(k for k in AgreementKind if k in kinds[e]),
                columns["interns"].counts[i],
                columns["employed"].counts[i],
                columns["assessed"].counts[i],
            )
            for i, e in enumerate(enterprises)
        )
        page.programmes.append(
            ProgrammePartners(
                programme,
                rows,
                _total(columns["interns"]),
                _total(columns["employed"]),
                _total(columns["assessed"]),
            )
        )
    return page


def _total(column: SuppressedColumn) -> int | None:
    return column.total if column.counts else 0


def _counts(stmt: Select[Any], session: Session) -> dict[tuple[int, int], int]:
    return {(p, e): n for p, e, n in session.execute(stmt)}


def _cohort(stmt: Select[Any], year: int | None) -> Select[Any]:
    return stmt if year is None else stmt.where(Graduate.graduation_year == year)


def _employed(programme_ids: list[int], partners: list[int], year: int | None) -> Select[Any]:
    """Distinct graduates per (programme, partner) with an employment record there."""
    stmt = (
        select(
            Graduate.programme_id,
            EmploymentRecord.employer_id,
            func.count(distinct(Graduate.id)),
        )
        .join(EmploymentRecord, EmploymentRecord.graduate_id == Graduate.id)
        .where(Graduate.programme_id.in_(programme_ids), EmploymentRecord.employer_id.in_(partners))
        .group_by(Graduate.programme_id, EmploymentRecord.employer_id)
    )
    return _cohort(stmt, year)


def _assessed(programme_ids: list[int], partners: list[int], year: int | None) -> Select[Any]:
    """Of those, the graduates the same enterprise assessed (a submitted response)."""
    stmt = (
        select(Graduate.programme_id, Invitation.employer_id, func.count(distinct(Graduate.id)))
        .join(Invitation, Invitation.graduate_id == Graduate.id)
        .join(Response, Response.invitation_id == Invitation.id)
        .join(
            EmploymentRecord,
            (EmploymentRecord.graduate_id == Graduate.id)
            & (EmploymentRecord.employer_id == Invitation.employer_id),
        )
        .where(
            Graduate.programme_id.in_(programme_ids),
            Invitation.employer_id.in_(partners),
            Response.status == ResponseStatus.SUBMITTED,
        )
        .group_by(Graduate.programme_id, Invitation.employer_id)
    )
    return _cohort(stmt, year)


def _interns(programme_ids: list[int], partners: list[int], year: int | None) -> Select[Any]:
    """Distinct graduates per (programme, partner) who interned there with a mentor."""
    stmt = (
        select(Graduate.programme_id, Internship.employer_id, func.count(distinct(Graduate.id)))
        .join(Internship, Internship.graduate_id == Graduate.id)
        .where(
            Graduate.programme_id.in_(programme_ids),
            Internship.employer_id.in_(partners),
            Internship.mentor_name.is_not(None),
        )
        .group_by(Graduate.programme_id, Internship.employer_id)
    )
    return _cohort(stmt, year)
