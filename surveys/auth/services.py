"""Authentication, user and institution services: they take a session, flush, and never commit.

Every function that changes something records an audit event in the same session, so the
change and its trace are committed (or rolled back) together by the caller. Bad input raises
:class:`InputError` naming the field; nothing has been added to the session at that point.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable, Sequence

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.auth.models import CommitteeAssignment, Role, User
from surveys.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from surveys.campaigns.models import Invitation
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.orm import utcnow
from surveys.registry.models import Graduate, Institution, Programme
from surveys.responses.models import Response, ResponseStatus

#: Verified against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = hash_password("hamkor-timing-equaliser")

#: Longest institution code (the column is String(32)); codes appear in every export.
MAX_INSTITUTION_CODE = 32

#: Smallest group whose count a committee member may see exactly (privacy rule ``min_n``).
MIN_GROUP_SIZE = 5


class InputError(ValueError):
    """Input a service refuses; ``field`` names the form field / CLI option it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


#: A committee member's scope: an institution, or one programme of it (programme id or None).
Assignment = tuple[int, int | None]


@dataclasses.dataclass(frozen=True)
class NewPasswordResult:
    """A user whose password was set; ``generated`` is the one-time password to show once."""

    user: User
    generated: str | None


# --- helpers -----------------------------------------------------------------------------


def generate_password() -> str:
    """A random one-time password (about 96 bits, URL-safe characters, easy to copy)."""
    return secrets.token_urlsafe(12)


def normalize_email(email: str) -> str:
    """The e-mail as stored: checked for shape (no DNS lookup), lower-case.

    Raises :class:`InputError` on ``email`` when it is not an e-mail address.
    """
    email = (email or "").strip()
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InputError(
            "email",
            _(
                "“%(email)s” is not a valid e-mail address: %(reason)s",
                email=email,
                reason=str(exc),
            ),
        ) from exc
    return checked.normalized.lower()


def check_password_strength(password: str, field: str = "password") -> None:
    """Refuse a password shorter than :data:`MIN_PASSWORD_LENGTH` characters."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InputError(
            field,
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        )


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail (case-insensitive), or None."""
    email = (email or "").strip().lower()
    return session.scalars(select(User).where(func.lower(User.email) == email)).first()


def institution_by_code(session: Session, code: str) -> Institution | None:
    """The institution with this code (case-insensitive), or None."""
    code = (code or "").strip()
    return session.scalars(
        select(Institution).where(func.upper(Institution.code) == code.upper())
    ).first()


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


def _set_assignments(user: User, assignments: Iterable[Assignment]) -> None:
    """Replace the user's committee assignments with ``assignments`` (duplicates dropped)."""
    wanted = list(dict.fromkeys(assignments))
    existing = {(a.institution_id, a.programme_id): a for a in user.committee_assignments}
    user.committee_assignments = [
        existing.get(pair) or CommitteeAssignment(institution_id=pair[0], programme_id=pair[1])
        for pair in wanted
    ]


def _assignment_details(assignments: Iterable[Assignment]) -> list[str]:
    return [f"{i}" if p is None else f"{i}/{p}" for i, p in assignments]


# --- authentication ------------------------------------------------------------------------


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same cost either way).

    A successful login updates ``last_login_at``, upgrades an outdated hash and is
    audited; a failed one is audited without the password.
    """
    email = (email or "").strip().lower()
    user = find_user_by_email(session, email)
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        record_event(
            session,
            "auth.login_failed",
            obj=user,
            details={"email": email, "reason": "unknown" if user is None else "inactive"},
            actor=email,
        )
        return None
    if not verify_password(user.password_hash, password):
        record_event(
            session, "auth.login_failed", obj=user, details={"reason": "password"}, actor=email
        )
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record_event(session, "auth.login", obj=user, actor=user.email)
    session.flush()
    return user


def change_own_password(session: Session, user: User, current: str, new: str) -> User:
    """Change ``user``'s password after checking the current one.

    The new hash ends every other session of the user (sessions are tied to the hash).
    """
    if not verify_password(user.password_hash, current or ""):
        raise InputError("current_password", _("The current password is not correct."))
    check_password_strength(new, "new_password")
    if verify_password(user.password_hash, new):
        raise InputError("new_password", _("The new password must differ from the current one."))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    record_event(session, "auth.password_changed", obj=user)
    session.flush()
    return user


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
    _set_assignments(user, assignments)
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
            (a.institution_id, a.programme_id) for a in user.committee_assignments
        ),
    }
    user.role = role
    user.institution_id = institution_id
    _set_assignments(user, assignments)
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
    return institution


# --- committee statistics ------------------------------------------------------------------


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


def assigned_programme_ids(session: Session, user: User) -> list[int]:
    """Ids of the programmes a committee member may read statistics of."""
    ids: set[int] = set()
    for assignment in user.committee_assignments:
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
