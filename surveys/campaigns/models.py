"""Survey campaigns and the personal invitations they send to employers."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from surveys.instruments.models import InstrumentVersion
from surveys.orm import Base, enum_column_type, utcnow
from surveys.registry.models import Employer, EmployerLink, Graduate, Institution, Programme


class CampaignStatus(enum.StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"  #: being prepared; links do not open yet
    OPEN = "open"  #: links open between ``opens_on`` and ``closes_on``
    CLOSED = "closed"  #: no more answers accepted; the numbers are frozen
    ARCHIVED = "archived"  #: closed and put away (still counted, no longer listed first)


class InvitationStatus(enum.StrEnum):
    """What an invitation's link does now (computed, never stored; see
    :func:`surveys.campaigns.services.status_expression`)."""

    NOT_SENT = "not_sent"  #: no e-mail went out yet
    SENT = "sent"  #: the mail server accepted the invitation
    OPENED = "opened"  #: the employer opened the form, saved nothing yet
    DRAFT = "draft"  #: answers saved, not submitted
    SUBMITTED = "submitted"  #: answers received (final)
    DECLINED = "declined"  #: the employer declined to answer
    WITHDRAWN = "withdrawn"  #: staff withdrew the link
    EXPIRED = "expired"  #: the campaign closed before a submission
    FAILED = "failed"  #: the mail server refused the address


class DeliveryState(enum.StrEnum):
    """How one attempt to deliver an invitation or reminder e-mail ended."""

    SENDING = "sending"  #: claimed and handed to the mail server; no reply recorded yet
    SENT = "sent"  #: the mail server accepted the message
    RETRY = "retry"  #: a temporary failure (4xx, server unreachable): tried again later
    FAILED = "failed"  #: refused for good (5xx) or too many temporary failures


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
    #: language of the default name, and of the invitations of employers with no other
    language: Mapped[str] = mapped_column(String(8), default="uz")
    #: days after the invitation on which a reminder goes out, ascending (e.g. ``[7, 14]``)
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: the invitation text by language (``uz``/``ru``/``en``) with ``{placeholders}``; a
    #: language missing here uses the built-in text
    invitation_texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: whom employers write to with questions (Reply-To of the e-mails; None: the sender)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    institution: Mapped[Institution] = relationship()
    instrument_version: Mapped[InstrumentVersion] = relationship()
    programmes: Mapped[list[Programme]] = relationship(secondary=campaign_programmes)
    invitations: Mapped[list[Invitation]] = relationship(back_populates="campaign")

    def is_accepting(self, today: dt.date) -> bool:
        """Whether employers' answers are accepted on ``today``."""
        return self.status == CampaignStatus.OPEN and self.opens_on <= today <= self.closes_on


#: Every employer link of a campaign's institution, joined to the campaign: the "secondary"
#: of :attr:`Invitation.inviting_link` (SQLAlchemy's composite secondary join).
_inviting_links = EmployerLink.__table__.alias("inviting_links")
_campaign_links = Campaign.__table__.join(
    _inviting_links, _inviting_links.c.institution_id == Campaign.__table__.c.institution_id
)


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
    #: how many times the link was (re-)issued; each issue is mailed afresh
    issue: Mapped[int] = mapped_column(default=1)
    opened_at: Mapped[dt.datetime | None]  #: first time the link showed the form
    declined_at: Mapped[dt.datetime | None]  #: the employer declined: no more reminders
    #: the mail server refused the address for good (cleared when a later message goes out)
    failed_at: Mapped[dt.datetime | None]

    campaign: Mapped[Campaign] = relationship(back_populates="invitations")
    #: the enterprise's shared identity: its pseudonym is the ratings' ``rater_id``; its
    #: name is never shown (the employer sees the inviting institution's, ``employer_link``)
    employer: Mapped[Employer] = relationship()
    graduate: Mapped[Graduate] = relationship()
    #: the inviting institution's own record of the employer (None if it has none), a
    #: relationship so that a query can load it with the invitation (``joinedload``)
    inviting_link: Mapped[EmployerLink | None] = relationship(
        secondary=_campaign_links,
        primaryjoin=lambda: (
            (Invitation.campaign_id == Campaign.__table__.c.id)
            & (Invitation.employer_id == _inviting_links.c.employer_id)
        ),
        secondaryjoin=lambda: EmployerLink.id == _inviting_links.c.id,
        viewonly=True,
    )

    @property
    def employer_name(self) -> str | None:
        """The employer as the inviting institution names it (never the shared identity's
        official name, which other institutions may see differently)."""
        link = self.employer_link
        return link.name if link is not None else None

    @property
    def employer_link(self) -> EmployerLink | None:
        """The inviting institution's own record of the employer: the name and contact the
        employer's form and e-mails show (None if the institution has none)."""
        if "inviting_link" not in self.__dict__ and object_session(self) is None:
            return None
        return self.inviting_link


class DeliveryAttempt(Base):
    """One attempt to mail an invitation (step 0) or its n-th reminder (step n).

    The row is written and committed *before* the message is handed to the mail server and
    updated with the server's reply after, so a batch that dies half-way leaves a record of
    what went out: a rerun sends what is missing and nothing twice. ``(invitation, issue,
    step, try_number)`` is unique, so two concurrent batches cannot both claim a message.
    """

    __tablename__ = "delivery_attempts"
    __table_args__ = (UniqueConstraint("invitation_id", "issue", "step", "try_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    issue: Mapped[int]  #: the invitation's issue the message carried the link of
    step: Mapped[int]  #: 0 = the invitation, n = the n-th reminder
    try_number: Mapped[int] = mapped_column(default=1)  #: 1 for the first try of a step
    state: Mapped[DeliveryState] = mapped_column(enum_column_type(DeliveryState))
    email: Mapped[str] = mapped_column(String(320))  #: the address it went to
    message_id: Mapped[str] = mapped_column(String(255))  #: same for every try of a step
    smtp_code: Mapped[int | None]  #: the server's reply code (None: no answer)
    smtp_reply: Mapped[str | None] = mapped_column(String(1000))  #: its text, or the error
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    next_try_at: Mapped[dt.datetime | None]  #: when a RETRY may be tried again

    invitation: Mapped[Invitation] = relationship()
