"""Reading the registry for the staff pages and ``hamkor registry list``.

Every function takes the institution id the caller may see (from ``institution_scope``) and
returns plain dicts whose keys are the import column names, so what a list shows can be
saved as CSV and imported again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from surveys.i18n import LANGUAGE_NAMES
from surveys.registry.models import (
    Employer,
    EmployerLink,
    EmploymentRecord,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
)
from surveys.search import apply_search
from surveys.spreadsheets import neutralise_formula  # noqa: F401  (re-exported for callers)

#: Rows per page on the staff list pages.
PER_PAGE = 50

#: The columns each list shows, in order (keys of the row dicts).
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "programmes": (
        "code",
        "name",
        *(f"name_{language}" for language in LANGUAGE_NAMES),
        "level",
        "field_of_study",
        "graduates",
    ),
    "graduates": (
        "student_number",
        "full_name",
        "programme_code",
        "graduation_year",
        "email",
        "pseudonym",
    ),
    "employers": (
        "tax_number",
        "name",
        "sector",
        "region",
        "contact_name",
        "contact_email",
        "notes",
    ),
    "agreements": (
        "number",
        "employer_tax_number",
        "employer_name",
        "kind",
        "signed_on",
        "valid_from",
        "valid_until",
    ),
    "employment": (
        "student_number",
        "full_name",
        "employer_tax_number",
        "employer_name",
        "position",
        "start_date",
        "end_date",
    ),
    "internships": (
        "student_number",
        "full_name",
        "employer_tax_number",
        "employer_name",
        "mentor_name",
        "start_date",
        "end_date",
        "agreement_number",
    ),
}


@dataclass(frozen=True)
class RegistryPage:
    """One page of a registry list."""

    kind: str
    rows: list[dict[str, Any]]
    total: int  #: rows matching the search, on all pages
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _our_link(institution_id: int, employer_id: Any) -> Any:
    """An alias of the institution's own link to the row's employer (outer-joined).

    Lists show the enterprise under the name this institution uses, never the shared
    identity's official name nor another institution's.
    """
    link = aliased(EmployerLink)
    condition = and_(link.employer_id == employer_id, link.institution_id == institution_id)
    return link, condition


def _programmes(institution_id: int, search: str | None, **_: Any) -> Select:
    graduates = (
        select(func.count(Graduate.id))
        .where(Graduate.programme_id == Programme.id)
        .correlate(Programme)
        .scalar_subquery()
    )
    stmt = select(
        Programme.code,
        Programme.name,
        Programme.names,
        Programme.level,
        Programme.field_of_study,
        graduates.label("graduates"),
    ).where(Programme.institution_id == institution_id)
    stmt = apply_search(stmt, search, Programme.search_text)
    return stmt.order_by(Programme.code)


def _graduates(
    institution_id: int,
    search: str | None,
    programme: str | None = None,
    year: int | None = None,
    **_: Any,
) -> Select:
    stmt = (
        select(
            Graduate.student_number,
            Graduate.full_name,
            Programme.code.label("programme_code"),
            Graduate.graduation_year,
            Graduate.email,
            Graduate.pseudonym,
        )
        .join(Programme, Programme.id == Graduate.programme_id)
        .where(Graduate.institution_id == institution_id)
    )
    if programme:
        stmt = stmt.where(Programme.code == programme)
    if year:
        stmt = stmt.where(Graduate.graduation_year == year)
    stmt = apply_search(stmt, search, Graduate.search_text)
    return stmt.order_by(Graduate.graduation_year.desc(), Graduate.full_name, Graduate.id)


def _employers(institution_id: int, search: str | None, **_: Any) -> Select:
    stmt = (
        select(
            Employer.tax_number,
            EmployerLink.name,
            EmployerLink.sector,
            EmployerLink.region,
            EmployerLink.contact_name,
            EmployerLink.contact_email,
            EmployerLink.notes,
        )
        .join(Employer, Employer.id == EmployerLink.employer_id)
        .where(EmployerLink.institution_id == institution_id)
    )
    stmt = apply_search(stmt, search, EmployerLink.search_text, Employer.tax_number)
    return stmt.order_by(EmployerLink.name, EmployerLink.id)


def _agreements(institution_id: int, search: str | None, **_: Any) -> Select:
    link, on = _our_link(institution_id, PartnershipAgreement.employer_id)
    stmt = (
        select(
            PartnershipAgreement.number,
            Employer.tax_number.label("employer_tax_number"),
            link.name.label("employer_name"),
            PartnershipAgreement.kind,
            PartnershipAgreement.signed_on,
            PartnershipAgreement.valid_from,
            PartnershipAgreement.valid_until,
        )
        .join(Employer, Employer.id == PartnershipAgreement.employer_id)
        .outerjoin(link, on)
        .where(PartnershipAgreement.institution_id == institution_id)
    )
    stmt = apply_search(
        stmt, search, PartnershipAgreement.search_text, link.search_text, Employer.tax_number
    )
    return stmt.order_by(PartnershipAgreement.signed_on.desc(), PartnershipAgreement.number)


def _employment(institution_id: int, search: str | None, **_: Any) -> Select:
    link, on = _our_link(institution_id, EmploymentRecord.employer_id)
    stmt = (
        select(
            Graduate.student_number,
            Graduate.full_name,
            Employer.tax_number.label("employer_tax_number"),
            link.name.label("employer_name"),
            EmploymentRecord.position,
            EmploymentRecord.start_date,
            EmploymentRecord.end_date,
        )
        .join(Graduate, Graduate.id == EmploymentRecord.graduate_id)
        .join(Employer, Employer.id == EmploymentRecord.employer_id)
        .outerjoin(link, on)
        .where(Graduate.institution_id == institution_id)
    )
    stmt = apply_search(
        stmt, search, Graduate.search_text, link.search_text, EmploymentRecord.search_text
    )
    return stmt.order_by(EmploymentRecord.start_date.desc(), EmploymentRecord.id)


def _internships(institution_id: int, search: str | None, **_: Any) -> Select:
    link, on = _our_link(institution_id, Internship.employer_id)
    stmt = (
        select(
            Graduate.student_number,
            Graduate.full_name,
            Employer.tax_number.label("employer_tax_number"),
            link.name.label("employer_name"),
            Internship.mentor_name,
            Internship.start_date,
            Internship.end_date,
            PartnershipAgreement.number.label("agreement_number"),
        )
        .join(Graduate, Graduate.id == Internship.graduate_id)
        .join(Employer, Employer.id == Internship.employer_id)
        .outerjoin(link, on)
        .outerjoin(PartnershipAgreement, PartnershipAgreement.id == Internship.agreement_id)
        .where(Graduate.institution_id == institution_id)
    )
    stmt = apply_search(
        stmt, search, Graduate.search_text, link.search_text, Internship.search_text
    )
    return stmt.order_by(Internship.start_date.desc(), Internship.id)


_QUERIES: dict[str, Callable[..., Select]] = {
    "programmes": _programmes,
    "graduates": _graduates,
    "employers": _employers,
    "agreements": _agreements,
    "employment": _employment,
    "internships": _internships,
}

#: The kinds of registry list, in menu order.
LIST_KINDS = tuple(_QUERIES)


def _plain(value: Any) -> Any:
    """Enums as their stored value, so templates and JSON show ``bachelor``."""
    return getattr(value, "value", value)


def _row(mapping: Any) -> dict[str, Any]:
    """A result row as the list's dict: names per language become ``name_uz``, ``name_ru``…"""
    row = {key: _plain(value) for key, value in mapping.items()}
    if "names" in row:
        names = row.pop("names") or {}
        row.update({f"name_{language}": names.get(language) for language in LANGUAGE_NAMES})
    return row


def list_registry(
    session: Session,
    kind: str,
    institution_id: int,
    *,
    search: str | None = None,
    programme: str | None = None,
    year: int | None = None,
    page: int | None = 1,
    per_page: int = PER_PAGE,
) -> RegistryPage:
    """One page of ``kind`` rows of an institution, searched and sorted; ``page=None`` = all."""
    stmt = _QUERIES[kind](institution_id, search, programme=programme, year=year)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if page is None:
        rows = session.execute(stmt).all()
        page, per_page = 1, max(total, 1)
    else:
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return RegistryPage(
        kind=kind,
        rows=[_row(row._mapping) for row in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def registry_counts(session: Session, institution_id: int) -> dict[str, int]:
    """How many rows of each kind an institution has."""
    return {
        kind: session.scalar(
            select(func.count()).select_from(
                _QUERIES[kind](institution_id, None).order_by(None).subquery()
            )
        )
        or 0
        for kind in LIST_KINDS
    }


def graduation_years(session: Session, institution_id: int) -> list[int]:
    """The cohorts (graduation years) an institution has, newest first."""
    stmt = (
        select(Graduate.graduation_year)
        .where(Graduate.institution_id == institution_id)
        .distinct()
        .order_by(Graduate.graduation_year.desc())
    )
    return list(session.scalars(stmt))


def programme_codes(session: Session, institution_id: int) -> list[str]:
    """An institution's programme codes, sorted."""
    stmt = select(Programme.code).where(Programme.institution_id == institution_id)
    return list(session.scalars(stmt.order_by(Programme.code)))


def institutions(session: Session) -> list[Institution]:
    """Every institution, by code (the admin's selector)."""
    return list(session.scalars(select(Institution).order_by(Institution.code)))


def institution_by_code(session: Session, code: str) -> Institution | None:
    """The institution with this code (case-insensitive), or None."""
    stmt = select(Institution).where(func.lower(Institution.code) == code.strip().lower())
    return session.scalar(stmt)
