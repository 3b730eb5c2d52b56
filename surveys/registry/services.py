"""Reading the registry for the staff pages and ``hamkor registry list``.

Every function takes the institution id the caller may see (from ``institution_scope``) and
returns plain dicts whose keys are the import column names, so what a list shows can be
saved as CSV and imported again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from surveys.registry.models import (
    Employer,
    EmploymentRecord,
    Graduate,
    Institution,
    Internship,
    PartnershipAgreement,
    Programme,
    institution_employers,
)
from surveys.spreadsheets import neutralise_formula  # noqa: F401  (re-exported for callers)

#: Rows per page on the staff list pages.
PER_PAGE = 50

#: The columns each list shows, in order (keys of the row dicts).
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "programmes": ("code", "name", "level", "field_of_study", "graduates"),
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


def _like(text: str) -> str:
    """A case-insensitive substring pattern with ``%`` and ``_`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(stmt: Select, search: str | None, *columns: Any) -> Select:
    if not search or not search.strip():
        return stmt
    pattern = _like(search.strip())
    return stmt.where(or_(*(column.ilike(pattern, escape="\\") for column in columns)))


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
        Programme.level,
        Programme.field_of_study,
        graduates.label("graduates"),
    ).where(Programme.institution_id == institution_id)
    stmt = _search(stmt, search, Programme.code, Programme.name, Programme.field_of_study)
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
    stmt = _search(stmt, search, Graduate.full_name, Graduate.student_number, Graduate.email)
    return stmt.order_by(Graduate.graduation_year.desc(), Graduate.full_name, Graduate.id)


def _employers(institution_id: int, search: str | None, **_: Any) -> Select:
    stmt = (
        select(
            Employer.tax_number,
            Employer.name,
            Employer.sector,
            Employer.region,
            Employer.contact_name,
            Employer.contact_email,
        )
        .join(institution_employers, institution_employers.c.employer_id == Employer.id)
        .where(institution_employers.c.institution_id == institution_id)
    )
    stmt = _search(stmt, search, Employer.name, Employer.tax_number, Employer.region)
    return stmt.order_by(Employer.name, Employer.id)


def _agreements(institution_id: int, search: str | None, **_: Any) -> Select:
    stmt = (
        select(
            PartnershipAgreement.number,
            Employer.tax_number.label("employer_tax_number"),
            Employer.name.label("employer_name"),
            PartnershipAgreement.kind,
            PartnershipAgreement.signed_on,
            PartnershipAgreement.valid_from,
            PartnershipAgreement.valid_until,
        )
        .join(Employer, Employer.id == PartnershipAgreement.employer_id)
        .where(PartnershipAgreement.institution_id == institution_id)
    )
    stmt = _search(stmt, search, PartnershipAgreement.number, Employer.name, Employer.tax_number)
    return stmt.order_by(PartnershipAgreement.signed_on.desc(), PartnershipAgreement.number)


def _employment(institution_id: int, search: str | None, **_: Any) -> Select:
    stmt = (
        select(
            Graduate.student_number,
            Graduate.full_name,
            Employer.tax_number.label("employer_tax_number"),
            Employer.name.label("employer_name"),
            EmploymentRecord.position,
            EmploymentRecord.start_date,
            EmploymentRecord.end_date,
        )
        .join(Graduate, Graduate.id == EmploymentRecord.graduate_id)
        .join(Employer, Employer.id == EmploymentRecord.employer_id)
        .where(Graduate.institution_id == institution_id)
    )
    stmt = _search(
        stmt,
        search,
        Graduate.full_name,
        Graduate.student_number,
        Employer.name,
        EmploymentRecord.position,
    )
    return stmt.order_by(EmploymentRecord.start_date.desc(), EmploymentRecord.id)


def _internships(institution_id: int, search: str | None, **_: Any) -> Select:
    stmt = (
        select(
            Graduate.student_number,
            Graduate.full_name,
            Employer.tax_number.label("employer_tax_number"),
            Employer.name.label("employer_name"),
            Internship.mentor_name,
            Internship.start_date,
            Internship.end_date,
            PartnershipAgreement.number.label("agreement_number"),
        )
        .join(Graduate, Graduate.id == Internship.graduate_id)
        .join(Employer, Employer.id == Internship.employer_id)
        .outerjoin(PartnershipAgreement, PartnershipAgreement.id == Internship.agreement_id)
        .where(Graduate.institution_id == institution_id)
    )
    stmt = _search(
        stmt,
        search,
        Graduate.full_name,
        Graduate.student_number,
        Employer.name,
        Internship.mentor_name,
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
        rows=[{k: _plain(v) for k, v in row._mapping.items()} for row in rows],
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
