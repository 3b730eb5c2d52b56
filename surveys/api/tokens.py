"""Creating, checking and revoking personal API tokens.

Threat model. A token is a password for one user's read access to the JSON API, kept in
scripts and notebooks, so:

- it is shown once, when created, and only its SHA-256 is stored: a database backup or a
  read-only SQL injection yields no usable token (the 256-bit secret makes a slow hash
  unnecessary: nobody can guess it, so nothing is to be gained by stretching);
- it is looked up by its public ``key_id`` and the secret's hash is compared with
  :func:`hmac.compare_digest`, so response times reveal nothing about the secret; an unknown
  ``key_id`` costs the same comparison;
- it dies with its owner's account (deactivation), on its expiry date, or when revoked;
  every creation and revocation is in the audit trail, and the list shows when each token was
  last used, so an owner notices one they did not use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys.api.models import ApiToken
from surveys.audit.services import record_event
from surveys.auth.models import User
from surveys.orm import utcnow

PREFIX = "hamkor"
#: ``hamkor_<12 hex>_<43 url-safe base64>``
TOKEN_PATTERN = re.compile(r"^hamkor_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
#: Lifetimes offered when a token is created (days; None = until revoked).
LIFETIMES = (30, 90, 365, None)
#: last_used_at is written at most this often (a script calling every second writes nothing).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


class TokenError(ValueError):
    """A token cannot be created as asked; ``field`` names the form field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_token(
    session: Session, user: User, *, name: str, lifetime_days: int | None
) -> tuple[ApiToken, str]:
    """A new token of ``user``; returns the row and the token text (shown once, never again)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("name", _("Say what the token is for, e.g. “R script”."))
    if len(name) > 100:
        raise TokenError("name", _("At most 100 characters."))
    if lifetime_days not in LIFETIMES:
        raise TokenError("lifetime", _("Choose one of the lifetimes offered."))
    now = utcnow()
    key_id = secrets.token_hex(6)
    while session.scalar(select(ApiToken.id).where(ApiToken.key_id == key_id)) is not None:
        key_id = secrets.token_hex(6)  # 48 bits: a collision is rare, but never reuse one
    secret = secrets.token_urlsafe(32)  # 256 bits
    token = ApiToken(
        user_id=user.id,
        name=name,
        key_id=key_id,
        secret_hash=_hash(secret),
        created_at=now,
        expires_at=None if lifetime_days is None else now + dt.timedelta(days=lifetime_days),
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        "api.token_created",
        obj=token,
        details={
            "name": name,
            "key_id": key_id,
            "expires": token.expires_at.date().isoformat() if token.expires_at else None,
        },
    )
    return token, f"{PREFIX}_{key_id}_{secret}"


def user_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones included, marked)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (LookupError for anyone else's or none)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise LookupError(token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_event(
            session,
            "api.token_revoked",
            obj=token,
            details={"name": token.name, "key_id": token.key_id},
        )
        session.flush()
    return token


def authenticate(session: Session, presented: str) -> User | None:
    """The active user whose usable token ``presented`` is, or None.

    Records when the token was last used (at most once a minute).
    """
    match = TOKEN_PATTERN.match(presented.strip())
    key_id, secret = match.groups() if match else ("", "")
    token = (
        session.scalars(select(ApiToken).where(ApiToken.key_id == key_id)).first()
        if key_id
        else None
    )
    stored = token.secret_hash if token is not None else _DUMMY_HASH
    if not hmac.compare_digest(stored, _hash(secret)) or token is None:
        return None
    now = utcnow()
    if not token.is_usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token.user
