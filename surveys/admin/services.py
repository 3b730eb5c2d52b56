"""User and institution administration: accounts, roles, committee scopes, institutions.

Services take a session, flush, and never commit; every change is audited in the same
session. Bad input raises :class:`surveys.auth.services.InputError` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.admin.models import CommitteeAssignment
from surveys.audit.services import record_event
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
from surveys.registry.models import Institution, Programme
from surveys.registry.services import institution_by_code

#: Longest institution code (the column is String(32)); codes appear in every export.
MAX_INSTITUTION_CODE = 32

#: A committee member's scope: an institution, or one programme of it (programme id or None).
Assignment = tuple[int, int | None]


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
