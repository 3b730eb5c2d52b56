"""Personal invitation links that a leaked database cannot open.

The token in ``/s/<token>`` is ``HMAC-SHA256(secret key, "invitation:" + nonce)``, 256 bits,
base64url. The database keeps only the random 128-bit ``nonce`` and ``SHA-256(token)``:
lookups go by that hash, and the token is then re-derived from the nonce and compared in
constant time. Staff can still rebuild and re-send a link, because the app has the key.
Rotating ``HAMKOR_SECRET_KEY`` invalidates every link that was sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import Row, Select, bindparam, select
from sqlalchemy.orm import Session

from surveys.campaigns.models import Invitation

#: Length of a token as it appears in a link (43 base64url characters = 256 bits).
TOKEN_LENGTH = 43


def new_nonce() -> str:
    """A random per-invitation nonce (128 bits, hex)."""
    return secrets.token_hex(16)


def token_for(nonce: str, secret_key: str) -> str:
    """The link token of an invitation with ``nonce`` under ``secret_key``."""
    digest = hmac.new(secret_key.encode(), b"invitation:" + nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token, as stored in ``Invitation.token_hash``."""
    return hashlib.sha256(token.encode()).hexdigest()


def assign_token(invitation: Invitation, secret_key: str) -> str:
    """Give ``invitation`` a fresh nonce and token hash; returns the token (the old link dies)."""
    invitation.nonce = new_nonce()
    token = token_for(invitation.nonce, secret_key)
    invitation.token_hash = token_hash(token)
    return token


#: The query :func:`find_invitation` runs (``token_hash`` is its parameter): the invitation,
#: and its nonce as a column for :func:`find_invitation_row`'s check.
LOOKUP = select(Invitation, Invitation.nonce).where(
    Invitation.token_hash == bindparam("token_hash")
)


def find_invitation(session: Session, token: str, secret_key: str) -> Invitation | None:
    """The invitation whose link carries ``token``, or None (never says why)."""
    row = find_invitation_row(session, token, secret_key, LOOKUP)
    return None if row is None else row.Invitation


def find_invitation_row(session: Session, token: str, secret_key: str, query: Select) -> Row | None:
    """The row of ``query`` whose link carries ``token``, or None (never says why): ``query``
    has a ``token_hash`` parameter and a ``nonce`` column (a select of columns needs no ORM
    objects, for the hot path of the employer's form)."""
    if not _well_formed(token):
        return None
    row = session.execute(query, {"token_hash": token_hash(token)}).first()
    if row is None or not _carries(token, row.nonce, secret_key):
        return None
    return row


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and len(token) == TOKEN_LENGTH and token.isascii()


def _carries(token: str, nonce: str, secret_key: str) -> bool:
    """Whether ``token`` is the link of ``nonce`` (compared in constant time)."""
    return hmac.compare_digest(token_for(nonce, secret_key), token)


def invitation_link(invitation: Invitation, secret_key: str, base_url: str) -> str:
    """The full personal URL of ``invitation`` (``HAMKOR_BASE_URL`` + ``/s/<token>``)."""
    return f"{base_url.rstrip('/')}/s/{token_for(invitation.nonce, secret_key)}"
