"""Instruments (questionnaires) and their immutable published versions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from surveys.orm import Base, enum_column_type, utcnow


class InstrumentKind(enum.StrEnum):
    """The seed paper's three ways employers assess training, plus custom forms."""

    ATTESTATION = "attestation"
    INTERVIEW = "interview"
    PERFORMANCE = "performance"
    CUSTOM = "custom"


class Instrument(Base):
    """A questionnaire, identified by its key (``attestation``, ``interview``, …)."""

    __tablename__ = "instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  #: the ratings table's ``instrument``
    kind: Mapped[InstrumentKind] = mapped_column(enum_column_type(InstrumentKind))
    name: Mapped[str] = mapped_column(String(255))  #: English title of the newest version
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[InstrumentVersion]] = relationship(
        back_populates="instrument", order_by="InstrumentVersion.version"
    )

    def __repr__(self) -> str:
        return f"<Instrument {self.key}>"


class InstrumentVersion(Base):
    """A published, never-changing version of an instrument's declarative definition.

    ``definition`` holds sections, items (key, type, scale, domain, required, texts in
    uz/ru/en); see ``surveys/instruments/definitions.py`` for its schema and validation.
    Answers always point to the version they answered, so editing means a new version.
    """

    __tablename__ = "instrument_versions"
    __table_args__ = (
        UniqueConstraint("instrument_id", "version"),
        UniqueConstraint("instrument_id", "checksum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"), index=True)
    version: Mapped[int]  #: 1, 2, … per instrument
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: SHA-256 of the canonical JSON definition: loading the same definition twice is a no-op
    checksum: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    instrument: Mapped[Instrument] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"<InstrumentVersion {self.instrument_id} v{self.version}>"


class ImmutableVersionError(RuntimeError):
    """Raised when code tries to change or delete a published instrument version."""


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_published_versions(session: Session, flush_context: Any, instances: Any):
    """Published versions never change: a changed definition must become a new version."""
    for obj in session.dirty:
        if isinstance(obj, InstrumentVersion) and session.is_modified(obj):
            raise ImmutableVersionError(
                f"instrument version {obj.id} is published and cannot be edited; "
                "publish a new version instead"
            )
    for obj in session.deleted:
        if isinstance(obj, InstrumentVersion):
            raise ImmutableVersionError(f"instrument version {obj.id} cannot be deleted")
