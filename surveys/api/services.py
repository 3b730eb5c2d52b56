"""What the JSON API answers: the indicator service's records, within the caller's scope.

The same rules as the pages: administrators read every institution; staff their own;
committee members the institutions and programmes assigned to them (a member assigned single
programmes reads those programmes' records, not the institution-wide ``*`` ones, which pool
programmes outside their assignment). Only aggregated records leave: no graduate, employer,
contact person, id or free text is in any answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import FIELDS
from surveys.admin.models import CommitteeAssignment
from surveys.auth.models import Role, User
from surveys.indicators import display_names, get_indicators, present_record
from surveys.registry.models import Institution, Programme
from surveys.registry.services import institution_by_code


class ApiProblem(Exception):
    """An answer other than 200: ``status`` (400, 403, 404) and a message for the caller."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Scope:
    """The programmes (codes, ``*`` = the whole institution) a user may read in one
    institution; ``everything`` when every programme and the institution rows are allowed."""

    institution: Institution
    programmes: frozenset[str]
    everything: bool


def readable_scope(session: Session, user: User, institution: Institution) -> Scope:
    """The part of ``institution`` that ``user`` may read; ApiProblem(403) when none."""
    if user.role == Role.ADMIN or (
        user.role == Role.STAFF and user.institution_id == institution.id
    ):
        return Scope(institution, frozenset(), everything=True)
    if user.role == Role.COMMITTEE:
        rows = session.execute(
            select(CommitteeAssignment.programme_id, Programme.code)
            .outerjoin(Programme, Programme.id == CommitteeAssignment.programme_id)
            .where(
                CommitteeAssignment.user_id == user.id,
                CommitteeAssignment.institution_id == institution.id,
            )
        ).all()
        if any(programme_id is None for programme_id, _code in rows):
            return Scope(institution, frozenset(), everything=True)
        if rows:
            return Scope(institution, frozenset(code for _id, code in rows), everything=False)
    raise ApiProblem(403, f"institution {institution.code} is outside your scope")


def indicators_answer(
    session: Session,
    user: User,
    *,
    institution_code: str,
    year: int,
    programme_code: str | None,
    lang: str,
) -> dict[str, Any]:
    """The ``GET /api/indicators`` answer (see ``openapi.py`` for its schema)."""
    institution = institution_by_code(session, institution_code)
    if institution is None:
        raise ApiProblem(404, f"no institution has the code {institution_code!r}")
    scope = readable_scope(session, user, institution)
    if programme_code is not None:
        exists = programme_code == "*" or session.scalar(
            select(Programme.id).where(
                Programme.institution_id == institution.id, Programme.code == programme_code
            )
        )
        if not exists:
            raise ApiProblem(
                404, f"institution {institution.code} has no programme {programme_code!r}"
            )
        if not scope.everything and programme_code not in scope.programmes:
            raise ApiProblem(403, f"programme {programme_code} is outside your scope")
        programmes: frozenset[str] | None = frozenset({programme_code})
    else:
        programmes = None if scope.everything else scope.programmes
    found = get_indicators(session, institution.id, years=year, programmes=programmes)
    names = display_names(session, institution.id, lang)
    records = []
    for record in found.records:
        item = record.to_dict()
        item["labels"] = present_record(record, names, min_n=found.min_n).to_dict()
        records.append(item)
    settings = found.settings
    return {
        "institution": {"code": institution.code, "name": institution.name},
        "year": year,
        "programme": programme_code,
        "language": lang,
        "settings": {
            "version": settings.version,
            "confidence_level": settings.confidence_level,
            "min_n": settings.min_n,
            "low_n": settings.low_n,
            "fpc": settings.fpc,
            "targets": dict(settings.targets),
        },
        "data_version": found.data_version,
        "as_of": found.as_of.isoformat(),
        "computed_at": found.computed_at.isoformat(),
        "fields": list(FIELDS),
        "records": records,
    }
