"""Survey campaigns and the personal invitations they send to employers."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from surveys.instruments.models import InstrumentVersion
from surveys.orm import Base, enum_column_type, utcnow
from surveys.registry.models import Employer, EmployerLink, Graduate, Institution, Programme


class CampaignStatus(enum.StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"  #: being prepared; links do not open yet
    OPEN = "open"  #: links open between ``opens_on`` and ``closes_on``
    CLOSED = "closed"  #: no more answers accepted


campaign_programmes = Table(
    "campaign_programmes",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("programme_id", ForeignKey("programmes.id"), primary_key=True),
)


class Campaign(Base):
    """Instrument version × institution × programme(s) × graduation year, with its dates."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("closes_on >= opens_on", name="dates_ordered"),
        CheckConstraint("year BETWEEN 1950 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    name: Mapped[str] = mapped_column(String(255))
    year: Mapped[int]  #: graduation year of the cohort being assessed
    opens_on: Mapped[dt.date]
    closes_on: Mapped[dt.date]  #: last day on which answers are accepted
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column_type(CampaignStatus), default=CampaignStatus.DRAFT
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    institution: Mapped[Institution] = relationship()
    instrument_version: Mapped[InstrumentVersion] = relationship()
    programmes: Mapped[list[Programme]] = relationship(secondary=campaign_programmes)
    invitations: Mapped[list[Invitation]] = relationship(back_populates="campaign")

    def is_accepting(self, today: dt.date) -> bool:
        """Whether employers' answers are accepted on ``today``."""
        return self.status == CampaignStatus.OPEN and self.opens_on <= today <= self.closes_on


class Invitation(Base):
    """One employer asked to assess one graduate in one campaign, with its secret link.

    The link's token is ``HMAC(secret key, nonce)``; only ``nonce`` and the SHA-256 of the
    token are stored, so a database backup alone opens nothing, while the app can still
    rebuild the link for staff.
    """

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("campaign_id", "employer_id", "graduate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id"), index=True)
    graduate_id: Mapped[int] = mapped_column(ForeignKey("graduates.id"), index=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)  #: random, hex
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  #: SHA-256 hex of the token
    email: Mapped[str | None] = mapped_column(String(320))  #: where the link is sent
    language: Mapped[str] = mapped_column(String(8), default="uz")  #: uz, ru or en
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    last_reminded_at: Mapped[dt.datetime | None]
    reminder_count: Mapped[int] = mapped_column(default=0)
    withdrawn_at: Mapped[dt.datetime | None]  #: set when staff withdraw the link

    campaign: Mapped[Campaign] = relationship(back_populates="invitations")
    #: the enterprise's shared identity: its pseudonym is the ratings' ``rater_id``; its
    #: name is never shown (the employer sees the inviting institution's, ``employer_link``)
    employer: Mapped[Employer] = relationship()
    graduate: Mapped[Graduate] = relationship()

    @property
    def employer_link(self) -> EmployerLink | None:
        """The inviting institution's own record of the employer: the name and contact the
        employer's form and e-mails show (None if the institution has none)."""
        session = object_session(self)
        if session is None:
            return None
        return session.scalar(
            select(EmployerLink)
            .join(Campaign, Campaign.institution_id == EmployerLink.institution_id)
            .where(Campaign.id == self.campaign_id, EmployerLink.employer_id == self.employer_id)
        )
