"""Authentication and user services: they take a session, flush, and never commit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.auth.models import User
from surveys.auth.passwords import hash_password, needs_rehash, verify_password
from surveys.orm import utcnow

#: Verified against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = hash_password("hamkor-timing-equaliser")


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same cost either way).

    A successful login updates ``last_login_at``, upgrades an outdated hash and is
    audited; a failed one is audited without the password.
    """
    email = email.strip().lower()
    user = session.scalars(select(User).where(func.lower(User.email) == email)).first()
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        record_event(session, "auth.login_failed", details={"email": email}, actor=email)
        return None
    if not verify_password(user.password_hash, password):
        record_event(session, "auth.login_failed", obj=user, actor=email)
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record_event(session, "auth.login", obj=user, actor=user.email)
    session.flush()
    return user
