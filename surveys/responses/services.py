"""Employers' answers behind a personal link: open the link, save a draft, submit once.

Every function takes a session and only flushes; the request commits once. A response is
created at most once per invitation (``responses.invitation_id`` is unique, and the insert
is ``ON CONFLICT DO NOTHING``), then locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises writers) before its answers change, so a double click, a resubmitted POST or a
second tab can never produce a second response or change a submitted one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.tokens import find_invitation
from surveys.datachanges import data_changed
from surveys.instruments.definitions import NUMERIC_TYPES, item_map, iter_items
from surveys.orm import utcnow
from surveys.registry.models import new_pseudonym
from surveys.responses.forms import NOT_APPLICABLE
from surveys.responses.models import Answer, Response, ResponseStatus, blank_answer_row


class LinkUnavailable(Exception):
    """The link opens no form; ``reason`` says why, ``status`` is the HTTP status to answer."""

    def __init__(self, reason: str, status: int, campaign: Campaign | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.campaign = campaign


class AlreadySubmitted(Exception):
    """The response was submitted before; it cannot be changed through the link."""

    def __init__(self, response: Response):
        super().__init__("already submitted")
        self.response = response


@dataclasses.dataclass(frozen=True)
class SubmitResult:
    """What a submit did: the response, and the required items still unanswered (if any)."""

    response: Response
    missing: list[str]

    @property
    def submitted(self) -> bool:
        return not self.missing


def open_link(session: Session, token: str, secret_key: str, today: dt.date) -> Invitation:
    """The invitation behind ``token`` if its form may be shown or answered on ``today``.

    Raises :class:`LinkUnavailable` with reason ``unknown`` (404: never says whether another
    token exists), ``withdrawn`` (410), ``not_open`` (404: the campaign has not started),
    ``closed`` (410). A submitted invitation opens (on its thank-you page) even after the
    campaign closed.
    """
    invitation = find_invitation(session, token, secret_key)
    if invitation is None:
        raise LinkUnavailable("unknown", 404)
    campaign = invitation.campaign
    if invitation.withdrawn_at is not None:
        raise LinkUnavailable("withdrawn", 410, campaign)
    if campaign.status == CampaignStatus.DRAFT or (
        campaign.status == CampaignStatus.OPEN and today < campaign.opens_on
    ):
        raise LinkUnavailable("not_open", 404, campaign)
    if not campaign.is_accepting(today):
        response = find_response(session, invitation)
        if response is None or response.status != ResponseStatus.SUBMITTED:
            raise LinkUnavailable("closed", 410, campaign)
    return invitation


def find_response(session: Session, invitation: Invitation) -> Response | None:
    """The invitation's response (draft or submitted), if the employer has started one."""
    return session.scalars(select(Response).where(Response.invitation_id == invitation.id)).first()


def stored_values(response: Response | None) -> dict[str, Any]:
    """The stored answers by item key, in the shapes :func:`save_answers` accepts."""
    if response is None:
        return {}
    values: dict[str, Any] = {}
    for answer in response.answers:
        if answer.not_applicable:
            values[answer.item_key] = NOT_APPLICABLE
        elif answer.number is not None:
            values[answer.item_key] = int(answer.number)
        elif answer.choice is not None:
            values[answer.item_key] = answer.choice
        elif answer.choices:
            values[answer.item_key] = list(answer.choices)
        elif answer.text is not None:
            values[answer.item_key] = answer.text
        elif answer.date is not None:
            values[answer.item_key] = answer.date
    return values


def save_answers(
    session: Session, invitation: Invitation, values: Mapping[str, Any], *, language: str
) -> Response:
    """Store ``values`` (item key → validated value, None = unanswered) as the draft.

    Only the items named in ``values`` change; the others keep their stored answers. Creates
    the response on first save. Raises :class:`AlreadySubmitted` if it was submitted.
    """
    response = _locked_response(session, invitation, language)
    if response.status == ResponseStatus.SUBMITTED:
        raise AlreadySubmitted(response)
    items = item_map(response.instrument_version.definition)
    unknown = sorted(set(values) - set(items))
    if unknown:  # the forms only pass item keys; a caller bug, not user input
        raise KeyError(f"not items of this instrument: {', '.join(unknown)}")
    if values:
        session.execute(
            delete(Answer).where(
                Answer.response_id == response.id, Answer.item_key.in_(list(values))
            )
        )
        rows = [
            _answer_row(response.id, items[key], value)
            for key, value in values.items()
            if value is not None
        ]
        if rows:
            session.execute(insert(Answer), rows)
    response.language = language
    response.updated_at = utcnow()
    session.flush()
    session.expire(response, ["answers"])
    return response


def unanswered(value: Any) -> bool:
    """Whether a stored value is no answer ("cannot judge" is an answer)."""
    return value in (None, "", [])


def missing_required(definition: Mapping[str, Any], values: Mapping[str, Any]) -> list[str]:
    """Keys of the required items without an answer."""
    return [
        item["key"]
        for item in iter_items(definition)
        if item.get("required") and unanswered(values.get(item["key"]))
    ]


def submit(
    session: Session, invitation: Invitation, values: Mapping[str, Any], *, language: str
) -> SubmitResult:
    """Save ``values`` and submit the response if every required item is answered.

    When required items are missing the answers are kept as a draft and the result lists
    them. Submitting is final. Raises :class:`AlreadySubmitted` when it was submitted before.
    """
    response = save_answers(session, invitation, values, language=language)
    missing = missing_required(response.instrument_version.definition, stored_values(response))
    if missing:
        return SubmitResult(response, missing)
    response.status = ResponseStatus.SUBMITTED
    response.submitted_at = utcnow()
    session.flush()
    data_changed(session, invitation.campaign.institution_id)  # its indicators are stale now
    record_event(
        session,
        "responses.submit",
        obj=response,
        institution_id=invitation.campaign.institution_id,
        details={"campaign": invitation.campaign_id, "invitation": invitation.id},
        actor="employer link",
    )
    return SubmitResult(response, [])


def _locked_response(session: Session, invitation: Invitation, language: str) -> Response:
    """The invitation's response, created if needed, locked for this transaction."""
    values = {
        "invitation_id": invitation.id,
        "instrument_version_id": invitation.campaign.instrument_version_id,
        "status": ResponseStatus.DRAFT,
        "public_id": new_pseudonym("R"),
        "language": language,
        "started_at": utcnow(),
        "updated_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(
        module.insert(Response)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["invitation_id"])
    )
    return session.scalars(
        select(Response)
        .where(Response.invitation_id == invitation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _answer_row(response_id: int, item: Mapping[str, Any], value: Any) -> dict[str, Any]:
    row = blank_answer_row(item["key"]) | {"response_id": response_id}
    kind = item["type"]
    if kind in NUMERIC_TYPES:
        if value == NOT_APPLICABLE:
            row["not_applicable"] = True
        else:
            row["number"] = float(value)
    elif kind == "single_choice":
        row["choice"] = value
    elif kind == "multiple_choice":
        row["choices"] = list(value)
    elif kind == "date":
        row["date"] = value
    else:
        row["text"] = value
    return row
