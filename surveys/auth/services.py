"""Authentication services: who is who, and their own password.

They take a session, flush, and never commit. Changes are audited in the same session, so the
change and its trace are committed (or rolled back) together by the caller. Bad input raises
:class:`InputError` naming the field; nothing has been added to the session at that point.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.auth.access import end_sessions
from surveys.auth.models import User
from surveys.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from surveys.orm import utcnow


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both cases take the same time.

    Made on first use (not at import: every process that imports the app, CLI commands
    included, would pay for an Argon2 hash it may never need), with the same parameters as
    every other hash.
    """
    return hash_password("hamkor-timing-equaliser")


class InputError(ValueError):
    """Input a service refuses; ``field`` names the form field / CLI option it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


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
    """Refuse a password of spaces only, or shorter than :data:`MIN_PASSWORD_LENGTH`."""
    if password and not password.strip():
        raise InputError(field, _("A password cannot consist of spaces only."))
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InputError(
            field,
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        )


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail (case-insensitive), or None."""
    email = (email or "").strip().lower()
    return session.scalars(select(User).where(func.lower(User.email) == email)).first()


# --- authentication ------------------------------------------------------------------------


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same cost either way).

    A successful login updates ``last_login_at``, upgrades an outdated hash and is
    audited; a failed one is audited without the password.
    """
    email = (email or "").strip().lower()
    user = find_user_by_email(session, email)
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
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

    Every session of the user ends; the caller starts a new one for the current request.
    """
    if not verify_password(user.password_hash, current or ""):
        raise InputError("current_password", _("The current password is not correct."))
    check_password_strength(new, "new_password")
    if verify_password(user.password_hash, new):
        raise InputError("new_password", _("The new password must differ from the current one."))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)
    record_event(session, "auth.password_changed", obj=user)
    session.flush()
    return user
