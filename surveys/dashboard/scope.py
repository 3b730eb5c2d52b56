"""Whose statistics a reader may see: committee assignments, a staff member's institution.

Committee members read the institutions and programmes assigned to them; staff their own
institution; administrators every institution. A reader sees the institution-wide rows
(programme ``*``) only of an institution they may read as a whole: a committee member
assigned to one programme would otherwise learn the rest of the institution by subtraction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.admin.services import committee_assignments
from surveys.auth.models import Role, User
from surveys.registry.models import Institution, Programme


class OutOfScope(Exception):
    """The reader may not see this institution or programme (the page answers 403)."""


@dataclass(frozen=True)
class ReaderScope:
    """The institutions and programmes one reader may see.

    ``institution_ids`` None means every institution (administrators); ``programme_ids``
    None means every programme of those institutions; ``whole`` the institutions read as
    a whole (their ``*`` rows are shown).
    """

    role: Role
    institution_ids: frozenset[int] | None
    programme_ids: frozenset[int] | None
    whole: frozenset[int] | None

    def may_read_institution(self, institution_id: int) -> bool:
        return self.institution_ids is None or institution_id in self.institution_ids

    def may_read_programme(self, programme: Programme) -> bool:
        if not self.may_read_institution(programme.institution_id):
            return False
        if self.whole is None or programme.institution_id in self.whole:
            return True
        return self.programme_ids is not None and programme.id in self.programme_ids

    def sees_whole(self, institution_id: int) -> bool:
        return self.whole is None or institution_id in self.whole

    @property
    def is_committee(self) -> bool:
        return self.role == Role.COMMITTEE


def reader_scope(session: Session, user: User) -> ReaderScope:
    """What ``user`` may read."""
    if user.role == Role.ADMIN:
        return ReaderScope(user.role, None, None, None)
    if user.role == Role.STAFF:
        own = frozenset({user.institution_id} if user.institution_id is not None else ())
        return ReaderScope(user.role, own, None, own)
    institutions: set[int] = set()
    programmes: set[int] = set()
    whole: set[int] = set()
    for assignment in committee_assignments(session, user.id):
        institutions.add(assignment.institution_id)
        if assignment.programme_id is None:
            whole.add(assignment.institution_id)
        else:
            programmes.add(assignment.programme_id)
    return ReaderScope(user.role, frozenset(institutions), frozenset(programmes), frozenset(whole))


#: Every institution and programme: the command line (whoever runs it holds the database).
EVERYTHING = ReaderScope(Role.ADMIN, None, None, None)


def scope_of(session: Session, reader: User | ReaderScope) -> ReaderScope:
    """The scope of a user, or ``reader`` itself when it is already one (a report job and
    the command line pass the scope they were given)."""
    return reader if isinstance(reader, ReaderScope) else reader_scope(session, reader)


def readable_institutions(session: Session, scope: ReaderScope) -> list[Institution]:
    """The institutions the reader may open, by code."""
    stmt = select(Institution).order_by(Institution.code)
    if scope.institution_ids is not None:
        stmt = stmt.where(Institution.id.in_(scope.institution_ids))
    return list(session.scalars(stmt))


def readable_programmes(
    session: Session, scope: ReaderScope, institution_id: int
) -> list[Programme]:
    """The programmes of one institution the reader may open, by code."""
    if not scope.may_read_institution(institution_id):
        raise OutOfScope(f"institution {institution_id}")
    stmt = select(Programme).where(Programme.institution_id == institution_id)
    if not scope.sees_whole(institution_id):
        stmt = stmt.where(Programme.id.in_(scope.programme_ids or ()))
    return list(session.scalars(stmt.order_by(Programme.code)))


def institution_for_reader(
    session: Session, scope: ReaderScope, code: str | None
) -> Institution | None:
    """The institution a page is about: the one named by ``code`` (case-insensitive), or
    the reader's first. Raises :class:`OutOfScope` for one the reader may not see, and
    :class:`LookupError` for an unknown code."""
    from surveys.registry.services import institution_by_code

    if code:
        institution = institution_by_code(session, code)
        if institution is None:
            raise LookupError(code)
        if not scope.may_read_institution(institution.id):
            raise OutOfScope(code)
        return institution
    readable = readable_institutions(session, scope)
    return readable[0] if readable else None


def programme_for_reader(session: Session, scope: ReaderScope, programme_id: int) -> Programme:
    """The programme with this id, if the reader may see it.

    Raises :class:`LookupError` when there is none and :class:`OutOfScope` when it belongs
    to another institution or is not assigned to the committee member.
    """
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise LookupError(programme_id)
    if not scope.may_read_programme(programme):
        raise OutOfScope(programme_id)
    return programme
