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

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload, selectinload

from surveys.audit.services import record_event
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.tokens import LOOKUP, find_invitation
from surveys.datachanges import data_changed
from surveys.instruments.definitions import NUMERIC_TYPES, item_map, iter_items
from surveys.orm import utcnow
from surveys.registry.models import Graduate, new_pseudonym
from surveys.responses.forms import NOT_APPLICABLE
from surveys.responses.models import Answer, Response, ResponseStatus, blank_answer_row


class LinkUnavailable(Exception):
    """The link opens no form; ``reason`` says why, ``status`` is the HTTP status to answer.

    ``submitted_at`` is when the employer's answers arrived, for a link that no longer opens
    but was used (the only thing such a link still tells).
    """

    def __init__(
        self,
        reason: str,
        status: int,
        campaign: Campaign | None = None,
        *,
        submitted_at: dt.datetime | None = None,
        language: str | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.campaign = campaign
        self.submitted_at = submitted_at
        self.language = language  #: the invitation's, so the page speaks as its form did


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


#: A link's invitation with its campaign (status, dates) and instrument version (the form),
#: loaded in one query instead of a lazy load each.
_LINK_QUERY = LOOKUP.options(
    joinedload(Invitation.campaign, innerjoin=True).joinedload(
        Campaign.instrument_version, innerjoin=True
    )
)
#: The same plus what a page shows: whom and what the employer assesses, and for whom.
_PAGE_QUERY = _LINK_QUERY.options(
    joinedload(Invitation.campaign, innerjoin=True).joinedload(
        Campaign.institution, innerjoin=True
    ),
    joinedload(Invitation.graduate, innerjoin=True).joinedload(Graduate.programme, innerjoin=True),
    joinedload(Invitation.employer, innerjoin=True),
)
#: The invitation's response; with its answers (in a second query, not on first use).
_RESPONSE = select(Response).where(Response.invitation_id == bindparam("invitation_id"))
_RESPONSE_WITH_ANSWERS = _RESPONSE.options(selectinload(Response.answers))
#: The invitation's response, locked until the transaction ends (read fresh, not from the
#: session's identity map).
_LOCKED_RESPONSE = (
    select(Response)
    .where(Response.invitation_id == bindparam("invitation_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def open_link(
    session: Session, token: str, secret_key: str, today: dt.date, *, page: bool = True
) -> Invitation:
    """The invitation behind ``token`` if its form may be shown or answered on ``today``.

    Raises :class:`LinkUnavailable` with reason ``unknown`` (404: never says whether another
    token exists), ``withdrawn`` (410), ``declined`` (410: the employer declined, and gets no
    more reminders), ``not_open`` (404: the campaign has not started),
    ``closed`` (410), or ``received`` (410: closed, and the answers were submitted; the page
    says when, and shows neither the graduate nor the answers any more). While the campaign
    is open, a submitted invitation opens on its thank-you page with the answers. ``page``
    loads what a page shows along with the invitation (a post that redirects needs only the
    campaign and the form).
    """
    invitation = find_invitation(session, token, secret_key, _PAGE_QUERY if page else _LINK_QUERY)
    if invitation is None:
        raise LinkUnavailable("unknown", 404)
    campaign = invitation.campaign
    if invitation.withdrawn_at is not None:
        raise LinkUnavailable("withdrawn", 410, campaign, language=invitation.language)
    if invitation.declined_at is not None:
        raise LinkUnavailable("declined", 410, campaign, language=invitation.language)
    if campaign.status == CampaignStatus.DRAFT or (
        campaign.status == CampaignStatus.OPEN and today < campaign.opens_on
    ):
        raise LinkUnavailable("not_open", 404, campaign, language=invitation.language)
    if not campaign.is_accepting(today):
        response = find_response(session, invitation)
        if response is not None and response.status == ResponseStatus.SUBMITTED:
            raise LinkUnavailable(
                "received",
                410,
                campaign,
                submitted_at=response.submitted_at,
                language=invitation.language,
            )
        raise LinkUnavailable("closed", 410, campaign, language=invitation.language)
    return invitation


def mark_opened(session: Session, invitation: Invitation) -> None:
    """Remember the first time the link showed the form (the invitation's "opened")."""
    if invitation.opened_at is None:
        invitation.opened_at = utcnow()
        session.flush()


def remember_language(session: Session, invitation: Invitation, language: str) -> None:
    """Keep the employer's choice of language on the invitation: the form opens in it on any
    device, as long as the browser has no choice of its own."""
    if invitation.language != language:
        invitation.language = language
        session.flush()


def find_response(
    session: Session, invitation: Invitation, *, with_answers: bool = False
) -> Response | None:
    """The invitation's response (draft or submitted), if the employer has started one.

    ``with_answers`` loads its answers along with it.
    """
    query = _RESPONSE_WITH_ANSWERS if with_answers else _RESPONSE
    return session.scalars(query, {"invitation_id": invitation.id}).first()


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
        insert_answer_rows(
            session,
            [
                _answer_row(response.id, items[key], value)
                for key, value in values.items()
                if value is not None
            ],
        )
    response.language = language
    response.updated_at = utcnow()
    session.flush()
    session.expire(response, ["answers"])
    return response


def insert_answer_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert ``answers`` rows (made from :func:`blank_answer_row`) in few statements.

    Rows are grouped by the columns they fill (a score, a choice, a text …) and each group
    is one executemany of an INSERT of just those columns, so empty columns stay SQL NULL
    and a thousand answers of four kinds are four statements rather than hundreds.
    """

    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        filled = {name: value for name, value in row.items() if value is not None}
        groups.setdefault(tuple(filled), []).append(filled)
    table = Answer.__table__
    for batch in groups.values():
        for start in range(0, len(batch), 5000):
            session.execute(table.insert(), batch[start : start + 5000])


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
    """The invitation's response, created if needed, locked for this transaction.

    On PostgreSQL an existing response (every save but the first) is locked by one
    ``SELECT … FOR UPDATE``; only a missing one is inserted first. SQLite has no row locks:
    its write lock comes with the first write of the transaction, so there the insert always
    comes first and the read after it sees the latest committed state.
    """
    dialect = session.get_bind().dialect.name
    params = {"invitation_id": invitation.id}
    if dialect == "postgresql":
        response = session.scalars(_LOCKED_RESPONSE, params).first()
        if response is not None:
            return response
    values = {
        "invitation_id": invitation.id,
        "instrument_version_id": invitation.campaign.instrument_version_id,
        "status": ResponseStatus.DRAFT,
        "public_id": new_pseudonym("R"),
        "language": language,
        "started_at": utcnow(),
        "updated_at": utcnow(),
    }
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(
        module.insert(Response)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["invitation_id"])
    )
    return session.scalars(_LOCKED_RESPONSE, params).one()


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
