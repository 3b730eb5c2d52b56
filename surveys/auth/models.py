"""Users and their roles (committee scopes live in ``surveys.admin``)."""

from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.orm import Base, enum_column_type, utcnow


class Role(enum.StrEnum):
    """What a user may do."""

    ADMIN = "admin"  #: manages users, roles, instruments and institutions
    STAFF = "staff"  #: quality office of one institution
    COMMITTEE = "committee"  #: accreditation committee member: aggregated statistics only


def new_session_epoch() -> str:
    """A random value that the sessions of a user carry (128 bits, hex)."""
    return secrets.token_hex(16)


class User(Base):
    """A person who logs in (employers never do: they use their personal links)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role <> 'staff' OR institution_id IS NOT NULL", name="staff_has_institution"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  #: stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column_type(Role))
    #: the institution a staff member works for (None for admins and committee members)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: set when someone else chose or generated the password; the user must pick their own
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: random, copied into each session at login; a new value ends every session of the user
    #: (password changed, by the user or an administrator; account deactivated)
    session_epoch: Mapped[str] = mapped_column(String(32), default=new_session_epoch)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    #: named, not imported: ``auth`` depends on no feature package (the registry included)
    institution: Mapped[Institution | None] = relationship("Institution")  # noqa: F821

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
