"""Administration: accounts, roles, committee scopes, institutions, enterprises' identities.

Services take a session, flush, and never commit; every change is audited in the same
session. Bad input raises :class:`surveys.auth.services.InputError` naming the field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from surveys.admin.models import CommitteeAssignment
from surveys.audit.services import record_event
from surveys.auth.access import end_sessions
from surveys.auth.models import Role, User
from surveys.auth.passwords import hash_password
from surveys.auth.services import (
    InputError,
    NewPasswordResult,
    check_password_strength,
    find_user_by_email,
    generate_password,
    normalize_email,
)
from surveys.datachanges import data_changed
from surveys.i18n import LANGUAGE_NAMES
from surveys.registry.columns import CellError
from surveys.registry.columns import tax_number as parse_tax_number
from surveys.registry.models import Employer, EmployerLink, Institution, Programme
from surveys.registry.services import institution_by_code
from surveys.search import apply_search, search_condition

#: Longest institution code (the column is String(32)); codes appear in every export.
MAX_INSTITUTION_CODE = 32

#: A committee member's scope: an institution, or one programme of it (programme id or None).
Assignment = tuple[int, int | None]


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a list: its rows and where it is among all matching rows."""

    rows: Sequence[Any]
    page: int
    per_page: int
    total: int  #: rows matching, on all pages

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def all_institutions(session: Session) -> list[Institution]:
    """Every institution, by code."""
    return list(session.scalars(select(Institution).order_by(Institution.code)))


def institution_rows(session: Session) -> list[Any]:
    """Every institution with its number of programmes and staff accounts, by code."""
    programmes = (
        select(func.count(Programme.id))
        .where(Programme.institution_id == Institution.id)
        .scalar_subquery()
    )
    staff = (
        select(func.count(User.id)).where(User.institution_id == Institution.id).scalar_subquery()
    )
    return list(session.execute(select(Institution, programmes, staff).order_by(Institution.code)))


def _paged(session: Session, stmt: Select, page: int, per_page: int, *, scalars: bool) -> Page:
    """Count ``stmt``'s rows, clamp ``page`` to the pages there are, and fetch that page."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = min(max(page, 1), max(1, -(-total // per_page)))
    window = stmt.offset((page - 1) * per_page).limit(per_page)
    rows = session.scalars(window).all() if scalars else session.execute(window).all()
    return Page(rows, page, per_page, total)


def list_users(
    session: Session,
    *,
    search: str | None = None,
    role: Role | str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """Users by e-mail, those whose e-mail contains ``search`` (any case) and have ``role``."""
    stmt = apply_search(select(User), search, User.email)  # e-mails are stored lower-case
    if role:
        stmt = stmt.where(User.role == Role(role))
    return _paged(session, stmt.order_by(User.email, User.id), page, per_page, scalars=True)


def committee_assignments(session: Session, user_id: int) -> list[CommitteeAssignment]:
    """A committee member's assignments, in the order they were made."""
    stmt = select(CommitteeAssignment).where(CommitteeAssignment.user_id == user_id)
    return list(session.scalars(stmt.order_by(CommitteeAssignment.id)))


def assignment_codes(
    session: Session, user_ids: Iterable[int]
) -> dict[int, list[tuple[str, str | None]]]:
    """Each user's assignments as (institution code, programme code or None), for lists."""
    stmt = (
        select(CommitteeAssignment.user_id, Institution.code, Programme.code)
        .join(Institution, Institution.id == CommitteeAssignment.institution_id)
        .outerjoin(Programme, Programme.id == CommitteeAssignment.programme_id)
        .where(CommitteeAssignment.user_id.in_(list(user_ids)))
        .order_by(CommitteeAssignment.id)
    )
    codes: dict[int, list[tuple[str, str | None]]] = {}
    for user_id, institution, programme in session.execute(stmt):
        codes.setdefault(user_id, []).append((institution, programme))
    return codes


def assigned_programme_ids(session: Session, user: User) -> list[int]:
    """Ids of the programmes a committee member may read statistics of."""
    ids: set[int] = set()
    for assignment in committee_assignments(session, user.id):
        if assignment.programme_id is not None:
            ids.add(assignment.programme_id)
        else:
            ids.update(
                session.scalars(
                    select(Programme.id).where(
                        Programme.institution_id == assignment.institution_id
                    )
                )
            )
    return sorted(ids)


def _check_role_and_scope(
    session: Session, role: Role, institution_id: int | None, assignments: Sequence[Assignment]
) -> None:
    """Staff need an existing institution; committee members need institution/programme pairs
    that belong together; admins have neither."""
    if role == Role.STAFF:
        if institution_id is None:
            raise InputError("institution", _("A staff member needs an institution."))
        if session.get(Institution, institution_id) is None:
            raise InputError("institution", _("There is no institution with this id."))
    elif institution_id is not None:
        raise InputError(
            "institution", _("Only staff members belong to an institution; leave it empty.")
        )
    if role != Role.COMMITTEE and assignments:
        raise InputError(
            "assignments", _("Only committee members have programmes assigned to them.")
        )
    for inst_id, prog_id in assignments:
        if session.get(Institution, inst_id) is None:
            raise InputError("assignments", _("There is no institution with this id."))
        if prog_id is not None:
            programme = session.get(Programme, prog_id)
            if programme is None or programme.institution_id != inst_id:
                raise InputError(
                    "assignments", _("The programme does not belong to the chosen institution.")
                )


def _set_assignments(session: Session, user: User, assignments: Iterable[Assignment]) -> None:
    """Replace the user's committee assignments with ``assignments`` (duplicates dropped)."""
    wanted = list(dict.fromkeys(assignments))
    existing = {
        (a.institution_id, a.programme_id): a for a in committee_assignments(session, user.id)
    }
    for pair, assignment in existing.items():
        if pair not in wanted:
            session.delete(assignment)
    for institution_id, programme_id in wanted:
        if (institution_id, programme_id) not in existing:
            session.add(
                CommitteeAssignment(
                    user_id=user.id, institution_id=institution_id, programme_id=programme_id
                )
            )


def _assignment_details(assignments: Iterable[Assignment]) -> list[str]:
    return [f"{i}" if p is None else f"{i}/{p}" for i, p in assignments]


# --- users ---------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    email: str,
    role: Role | str,
    institution_id: int | None = None,
    password: str | None = None,
    assignments: Sequence[Assignment] = (),
    must_change_password: bool | None = None,
) -> NewPasswordResult:
    """Add a user; without ``password`` a one-time password is generated and returned.

    The user must choose their own password at first login when ``must_change_password``
    is true; by default, when the password was generated (an administrator who types a
    password for someone else passes True: that password is known to two people).

    Raises :class:`InputError` for a malformed or taken e-mail, an unknown role or
    institution, a staff member without institution, or a password that is too short.
    """
    email = normalize_email(email)
    try:
        role = Role(role)
    except ValueError as exc:
        raise InputError("role", _("Unknown role “%(role)s”.", role=role)) from exc
    if find_user_by_email(session, email) is not None:
        raise InputError("email", _("A user with the e-mail %(email)s exists.", email=email))
    _check_role_and_scope(session, role, institution_id, assignments)
    generated = None
    if password is None or password == "":
        password = generated = generate_password()
    else:
        check_password_strength(password)
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        institution_id=institution_id,
        active=True,
        must_change_password=(
            generated is not None if must_change_password is None else must_change_password
        ),
    )
    session.add(user)
    session.flush()
    _set_assignments(session, user, assignments)
    session.flush()
    record_event(
        session,
        "auth.user_created",
        obj=user,
        details={
            "email": email,
            "role": role.value,
            "assignments": _assignment_details(assignments),
            "password": "generated" if generated else "set",
        },
    )
    session.flush()
    return NewPasswordResult(user, generated)


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role | str,
    institution_id: int | None,
    assignments: Sequence[Assignment] = (),
    acting_user_id: int | None = None,
) -> User:
    """Change a user's role, institution and committee assignments.

    An administrator cannot take the admin role away from themself (``acting_user_id``),
    so that there is always someone left who can manage users. Audited with the old and
    new values; saving without a change records nothing.
    """
    user = _get_user(session, user_id)
    try:
        role = Role(role)
    except ValueError as exc:
        raise InputError("role", _("Unknown role “%(role)s”.", role=role)) from exc
    if acting_user_id == user.id and role != Role.ADMIN:
        raise InputError("role", _("You cannot remove your own administrator role."))
    _check_role_and_scope(session, role, institution_id, assignments)
    before = {
        "role": user.role.value,
        "institution_id": user.institution_id,
        "assignments": _assignment_details(
            (a.institution_id, a.programme_id) for a in committee_assignments(session, user.id)
        ),
    }
    user.role = role
    user.institution_id = institution_id
    _set_assignments(session, user, assignments)
    after = {
        "role": role.value,
        "institution_id": institution_id,
        "assignments": _assignment_details(assignments),
    }
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    session.flush()
    if changes:
        record_event(session, "auth.user_updated", obj=user, details={"changes": changes})
        session.flush()
    return user


def set_user_active(
    session: Session, user_id: int, active: bool, *, acting_user_id: int | None = None
) -> User:
    """Deactivate (ends their sessions at the next request) or reactivate a user."""
    user = _get_user(session, user_id)
    if acting_user_id == user.id and not active:
        raise InputError("active", _("You cannot deactivate your own account."))
    if user.active != active:
        user.active = active
        if not active:
            end_sessions(user)  # a later reactivation does not bring the old sessions back
        record_event(
            session, "auth.user_reactivated" if active else "auth.user_deactivated", obj=user
        )
        session.flush()
    return user


def set_password(
    session: Session,
    user_id: int,
    password: str | None = None,
    *,
    must_change_password: bool | None = None,
) -> NewPasswordResult:
    """Give a user a new password (generated when none is given), ending their sessions.

    ``must_change_password`` as in :func:`create_user` (default: when generated).
    """
    user = _get_user(session, user_id)
    generated = None
    if password is None or password == "":
        password = generated = generate_password()
    else:
        check_password_strength(password)
    user.password_hash = hash_password(password)
    user.must_change_password = (
        generated is not None if must_change_password is None else must_change_password
    )
    end_sessions(user)
    record_event(
        session,
        "auth.password_reset",
        obj=user,
        details={"password": "generated" if generated else "set"},
    )
    session.flush()
    return NewPasswordResult(user, generated)


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user with id {user_id}")
    return user


# --- institutions --------------------------------------------------------------------------


def _clean_institution(code: str, name: str) -> tuple[str, str]:
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not code:
        raise InputError("code", _("The code is required, e.g. TDTU."))
    allowed = all(c.isascii() and (c.isalnum() or c in "-_.") for c in code)
    if len(code) > MAX_INSTITUTION_CODE or not allowed:
        raise InputError(
            "code",
            _(
                "The code may have at most %(n)d Latin letters, digits, “-”, “_” or “.” "
                "(it appears in every export).",
                n=MAX_INSTITUTION_CODE,
            ),
        )
    if not name:
        raise InputError("name", _("The name is required."))
    if len(name) > 255:
        raise InputError("name", _("The name may have at most 255 characters."))
    return code, name


def create_institution(
    session: Session, *, code: str, name: str, privacy_notice: str | None = None
) -> Institution:
    """Add an institution; its code is unique (case-insensitive) and stored upper-case."""
    code, name = _clean_institution(code, name)
    if institution_by_code(session, code) is not None:
        raise InputError("code", _("An institution with the code %(code)s exists.", code=code))
    institution = Institution(
        code=code, name=name, privacy_notice=(privacy_notice or "").strip() or None
    )
    session.add(institution)
    session.flush()
    record_event(
        session,
        "auth.institution_created",
        obj=institution,
        institution_id=institution.id,
        details={"code": code, "name": name},
    )
    session.flush()
    return institution


def update_institution(
    session: Session,
    institution_id: int,
    *,
    code: str,
    name: str,
    privacy_notice: str | None = None,
) -> Institution:
    """Change an institution's code, name or privacy notice (shown to employers).

    Audited with the old and new values; saving without a change records nothing.
    """
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise LookupError(f"no institution with id {institution_id}")
    code, name = _clean_institution(code, name)
    other = institution_by_code(session, code)
    if other is not None and other.id != institution.id:
        raise InputError("code", _("An institution with the code %(code)s exists.", code=code))
    notice = (privacy_notice or "").strip() or None
    # old and new values, the notice included: what employers were told matters later
    changes = {}
    for attr, value in (("code", code), ("name", name), ("privacy_notice", notice)):
        if getattr(institution, attr) != value:
            changes[attr] = [getattr(institution, attr), value]
            setattr(institution, attr, value)
    if changes:
        record_event(
            session,
            "auth.institution_updated",
            obj=institution,
            institution_id=institution.id,
            details={"changes": changes},
        )
    session.flush()
    if "code" in changes:
        data_changed(session, institution.id)  # stored indicator records carry the code
    return institution


def _clean_names(names: Mapping[str, str | None] | None, max_length: int | None) -> dict[str, str]:
    """Texts per language, empty ones dropped, unknown languages refused."""
    clean = {}
    for language, value in (names or {}).items():
        if language not in LANGUAGE_NAMES:
            raise InputError("names", _("Unknown language “%(language)s”.", language=language))
        value = (value or "").strip()
        if value:
            if max_length is not None and len(value) > max_length:
                raise InputError(
                    f"name_{language}",
                    _("The name may have at most %(n)d characters.", n=max_length),
                )
            clean[language] = value
    return clean


def set_institution_languages(
    session: Session,
    institution_id: int,
    *,
    names: Mapping[str, str | None],
    privacy_notices: Mapping[str, str | None],
) -> Institution:
    """Set an institution's name and privacy notice per language (empty = use the default).

    Audited with the old and new values, like the other institution fields.
    """
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise LookupError(f"no institution with id {institution_id}")
    wanted = {
        "names": _clean_names(names, 255),
        "privacy_notices": _clean_names(privacy_notices, None),
    }
    changes = {}
    for attr, value in wanted.items():
        current = dict(getattr(institution, attr) or {})
        if current != value:
            changes[attr] = [current, value]
            setattr(institution, attr, value)
    if changes:
        record_event(
            session,
            "auth.institution_updated",
            obj=institution,
            institution_id=institution.id,
            details={"changes": changes},
        )
    session.flush()
    return institution


# --- enterprises (shared identities) ---------------------------------------------------------


def list_enterprises(
    session: Session, *, search: str | None = None, page: int = 1, per_page: int = 25
) -> Page:
    """Enterprises' shared identities by official name, with how many institutions link them.

    ``search`` matches the tax number, official name, sector or region, or any name,
    contact or note an institution keeps for the enterprise.
    """
    links = (
        select(func.count(EmployerLink.id))
        .where(EmployerLink.employer_id == Employer.id)
        .correlate(Employer)
        .scalar_subquery()
    )
    stmt = select(Employer, links.label("institutions"))
    by_link = search_condition(search, EmployerLink.search_text)
    if by_link is not None:
        stmt = stmt.where(
            or_(
                search_condition(search, Employer.search_text),
                Employer.id.in_(select(EmployerLink.employer_id).where(by_link)),
            )
        )
    stmt = stmt.order_by(Employer.name, Employer.id)
    return _paged(session, stmt, page, per_page, scalars=False)


def enterprise_links(session: Session, employer_id: int) -> list[EmployerLink]:
    """Every institution's link to an enterprise, by institution code (admins only)."""
    stmt = (
        select(EmployerLink)
        .join(Institution, Institution.id == EmployerLink.institution_id)
        .where(EmployerLink.employer_id == employer_id)
        .order_by(Institution.code)
    )
    return list(session.scalars(stmt))


def enterprise_by_tax_number(session: Session, tax_number: str) -> Employer | None:
    """The enterprise with this tax number (spaces ignored), or None."""
    return session.scalar(
        select(Employer).where(Employer.tax_number == "".join((tax_number or "").split()))
    )


def update_enterprise(
    session: Session,
    employer_id: int,
    *,
    tax_number: str,
    name: str,
    sector: str | None = None,
    region: str | None = None,
) -> Employer:
    """Change an enterprise's shared identity: tax number, official name, sector, region.

    An administrator's act, audited with the old and new values (as an event of no
    institution: staff never see it). What institutions keep about the enterprise (their
    names for it, contacts, notes) is theirs and does not change. A tax number another
    enterprise has is refused: two records of one enterprise are not merged here.
    """
    employer = session.get(Employer, employer_id)
    if employer is None:
        raise LookupError(f"no enterprise with id {employer_id}")
    try:
        tax_number = parse_tax_number(tax_number or "")
    except CellError as exc:
        raise InputError("tax_number", str(exc)) from exc
    other = enterprise_by_tax_number(session, tax_number)
    if other is not None and other.id != employer.id:
        raise InputError(
            "tax_number",
            _("Another enterprise has the tax number %(tax)s.", tax=tax_number),
        )
    name = " ".join((name or "").split())
    if not name:
        raise InputError("name", _("The name is required."))
    wanted = {"tax_number": tax_number, "name": name}
    for field, value, limit in (("sector", sector, 128), ("region", region, 128)):
        value = " ".join((value or "").split()) or None
        if value is not None and len(value) > limit:
            raise InputError(field, _("At most %(n)d characters.", n=limit))
        wanted[field] = value
    if len(name) > 255:
        raise InputError("name", _("The name may have at most 255 characters."))
    changes = {}
    for attr, value in wanted.items():
        if getattr(employer, attr) != value:
            changes[attr] = [getattr(employer, attr), value]
            setattr(employer, attr, value)
    if changes:
        session.flush()
        record_event(
            session,
            "registry.enterprise_updated",
            obj=employer,
            details={"tax_number": employer.tax_number, "changes": changes},
        )
        session.flush()
    return employer
