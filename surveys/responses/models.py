"""Employers' responses and their answers, one row per item."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.campaigns.models import Invitation
from surveys.instruments.models import InstrumentVersion
from surveys.orm import Base, enum_column_type, utcnow
from surveys.registry.models import new_pseudonym


class ResponseStatus(enum.StrEnum):
    """A response is a draft until the employer submits it, once."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


class Response(Base):
    """An employer's filled-in form for one invitation (at most one per invitation)."""

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint(
            "status <> 'submitted' OR submitted_at IS NOT NULL", name="submitted_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unique: a double click or a second tab can never make a second response
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), unique=True)
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    status: Mapped[ResponseStatus] = mapped_column(
        enum_column_type(ResponseStatus), default=ResponseStatus.DRAFT, index=True
    )
    #: pseudonymous id, the ratings table's ``response_id``
    public_id: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: new_pseudonym("R")
    )
    language: Mapped[str | None] = mapped_column(String(8))  #: language the form was filled in
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None]

    invitation: Mapped[Invitation] = relationship()
    instrument_version: Mapped[InstrumentVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="Answer.id"
    )


class Answer(Base):
    """The answer to one item: a number, a choice (or several), a text, a date, or N/A."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(64))
    number: Mapped[float | None]  #: Likert / 0–10 score
    choice: Mapped[str | None] = mapped_column(String(64))  #: single-choice option key
    choices: Mapped[list[Any] | None] = mapped_column(JSON)  #: multiple-choice option keys
    text: Mapped[str | None] = mapped_column(Text)  #: free text, stored as typed
    date: Mapped[dt.date | None]
    #: "not applicable / cannot judge" chosen explicitly
    not_applicable: Mapped[bool] = mapped_column(default=False)

    response: Mapped[Response] = relationship(back_populates="answers")


def blank_answer_row(item_key: str) -> dict[str, Any]:
    """An ``answers`` row for a bulk insert, every value column empty (set the one you need)."""
    return {
        "item_key": item_key,
        "number": None,
        "choice": None,
        "choices": None,
        "text": None,
        "date": None,
        "not_applicable": False,
    }
