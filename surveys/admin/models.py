"""Committee members' scopes: which institutions or programmes each may read."""

from __future__ import annotations

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.auth.models import User
from surveys.orm import Base
from surveys.registry.models import Institution, Programme


class CommitteeAssignment(Base):
    """What a committee member may read: an institution, or one programme of it."""

    __tablename__ = "committee_assignments"
    __table_args__ = (UniqueConstraint("user_id", "institution_id", "programme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    #: empty = every programme of the institution
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))

    user: Mapped[User] = relationship()
    institution: Mapped[Institution] = relationship()
    programme: Mapped[Programme | None] = relationship()
