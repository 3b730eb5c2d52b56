"""Personal API tokens: what a user's own tools send as ``Authorization: Bearer …``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.auth.models import User
from surveys.orm import Base, utcnow


class ApiToken(Base):
    """One personal token. The secret is never stored: only its SHA-256.

    A token reads ``hamkor_<key_id>_<secret>``; ``key_id`` (public, shown in the list) finds
    the row, the secret's hash is compared in constant time.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))  #: what the owner uses it for
    key_id: Mapped[str] = mapped_column(String(16), unique=True)  #: public part, 48 random bits
    secret_hash: Mapped[str] = mapped_column(String(64))  #: SHA-256 hex of the 256-bit secret
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]  #: empty = until revoked
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    def is_usable(self, now: dt.datetime) -> bool:
        """Not revoked, not expired, and its owner's account is active."""
        return (
            self.revoked_at is None
            and (self.expires_at is None or now < self.expires_at)
            and self.user.active
        )
