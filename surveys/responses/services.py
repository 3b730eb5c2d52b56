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
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.datachanges import data_changed
from surveys.instruments.definitions import NUMERIC_TYPES, item_map, iter_items
from surveys.instruments.models import InstrumentVersion
from surveys.instruments.services import version_definition
from surveys.orm import utcnow
from surveys.registry.models import new_pseudonym
from surveys.responses.forms import NOT_APPLICABLE
from surveys.responses.links import LinkCampaign, OpenLink, find_link
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
        campaign: Campaign | LinkCampaign | None = None,
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

    def __init__(self, response: ResponseState):
        super().__init__("already submitted")
        self.response = response


@dataclasses.dataclass(frozen=True)
class SubmitResult:
    """What a submit did: the response, and the required items still unanswered (if any)."""

    response: ResponseState
    missing: list[str]

    @property
    def submitted(self) -> bool:
        return not self.missing


#: The invitation's response.
_RESPONSE = select(Response).where(Response.invitation_id == bindparam("invitation_id"))
_answers = Answer.__table__
_responses = Response.__table__


@dataclasses.dataclass
class ResponseState:
    """What a save or submit needs of a stored response (one Core row, not a
    :class:`Response`): its id, status and times, its form, and its answers when they
    were read (``values``: item key → value, as :func:`stored_values` gives them)."""

    id: int
    status: ResponseStatus
    instrument_version_id: int
    updated_at: dt.datetime
    submitted_at: dt.datetime | None = None
    values: dict[str, Any] | None = None

    @property
    def submitted(self) -> bool:
        return self.status == ResponseStatus.SUBMITTED


_STATE_COLUMNS = (
    _responses.c.id,
    _responses.c.status,
    _responses.c.instrument_version_id,
    _responses.c.updated_at,
    _responses.c.submitted_at,
)
_ANSWER_COLUMNS = (
    _answers.c.item_key,
    _answers.c.number,
    _answers.c.choice,
    _answers.c.choices,
    _answers.c.text,
    _answers.c.date,
    _answers.c.not_applicable,
)
#: The invitation's response, locked until the transaction ends on PostgreSQL (SQLite
#: renders no ``FOR UPDATE``).
_LOCKED_STATE = (
    select(*_STATE_COLUMNS)
    .where(_responses.c.invitation_id == bindparam("invitation_id"))
    .with_for_update(of=_responses)
)
#: A response's answers, in the order of the ORM's ``answers``. Read by a statement of its
#: own once the lock is held: a statement that waited on the lock sees the locked row as
#: it is now but the other rows as they were when it began (PostgreSQL's READ COMMITTED),
#: so answers a concurrent save committed meanwhile would be missing from a joined read.
_ANSWERS_OF = (
    select(*_ANSWER_COLUMNS)
    .where(_answers.c.response_id == bindparam("response_id"))
    .order_by(_answers.c.id)
)


def _read_state(
    session: Session, invitation_id: int, *, with_answers: bool
) -> ResponseState | None:
    """The invitation's response as a :class:`ResponseState` (locked on PostgreSQL)."""
    first = session.execute(_LOCKED_STATE, {"invitation_id": invitation_id}).first()
    if first is None:
        return None
    values = (
        answer_values(session.execute(_ANSWERS_OF, {"response_id": first.id}))
        if with_answers
        else None
    )
    return ResponseState(
        first.id,
        ResponseStatus(first.status),
        first.instrument_version_id,
        first.updated_at,
        first.submitted_at,
        values,
    )


#: The UPDATE of a response whose answers changed: as a draft (False), or submitted (True).
_UPDATE_RESPONSE = {
    submitted: update(Response.__table__)
    .where(Response.__table__.c.id == bindparam("response_id"))
    .values(
        language=bindparam("language"),
        updated_at=bindparam("updated_at"),
        **(
            {"status": bindparam("status"), "submitted_at": bindparam("submitted_at")}
            if submitted
            else {}
        ),
    )
    for submitted in (False, True)
}


#: The first opening of a link (a prepared UPDATE: no unit-of-work flush for one column).
_MARK_OPENED = (
    update(Invitation.__table__)
    .where(Invitation.__table__.c.id == bindparam("invitation_id"))
    .values(opened_at=bindparam("opened_at"))
)
#: The employer's choice of language, kept on the invitation.
_REMEMBER_LANGUAGE = (
    update(Invitation.__table__)
    .where(Invitation.__table__.c.id == bindparam("invitation_id"))
    .values(language=bindparam("language"))
)

#: An invitation as the services below read it: the model, or a link's read-only view of it
#: (:class:`surveys.responses.links.OpenLink`, what the employer's requests use).
AnyInvitation = Invitation | OpenLink


def form_definition(invitation: AnyInvitation) -> dict[str, Any]:
    """The definition of the form behind ``invitation`` (its campaign's instrument version),
    parsed once per process: published versions never change."""
    return version_definition(invitation.campaign.instrument_version)


def response_definition(
    session: Session, invitation: AnyInvitation, version_id: int
) -> dict[str, Any]:
    """The definition of instrument version ``version_id``, which the invitation's response
    was filled in: the campaign's form, at hand with the invitation (another version, should
    a response have one, is read)."""
    if version_id == invitation.campaign.instrument_version_id:
        return form_definition(invitation)
    return version_definition(session.get(InstrumentVersion, version_id))


def open_link(session: Session, token: str, secret_key: str, today: dt.date) -> OpenLink:
    """The invitation behind ``token`` if its form may be shown or answered on ``today``.

    Raises :class:`LinkUnavailable` with reason ``unknown`` (404: never says whether another
    token exists), ``withdrawn`` (410), ``declined`` (410: the employer declined, and gets no
    more reminders), ``not_open`` (404: the campaign has not started),
    ``closed`` (410), or ``received`` (410: closed, and the answers were submitted; the page
    says when, and shows neither the graduate nor the answers any more). While the campaign
    is open, a submitted invitation opens on its thank-you page with the answers. What a
    page shows of the invitation comes with it, in one query (:mod:`surveys.responses.links`).
    """
    invitation = find_link(session, token, secret_key)
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


def mark_opened(session: Session, invitation: OpenLink) -> None:
    """Remember the first time the link showed the form (the invitation's "opened")."""
    if invitation.opened_at is None:
        now = utcnow()
        session.execute(_MARK_OPENED, {"invitation_id": invitation.id, "opened_at": now})
        invitation.opened_at = now


def remember_language(session: Session, invitation: OpenLink, language: str) -> None:
    """Keep the employer's choice of language on the invitation: the form opens in it on any
    device, as long as the browser has no choice of its own."""
    if invitation.language != language:
        session.execute(_REMEMBER_LANGUAGE, {"invitation_id": invitation.id, "language": language})
        invitation.language = language


def find_response(session: Session, invitation: AnyInvitation) -> Response | None:
    """The invitation's response (draft or submitted), if the employer has started one."""
    return session.scalars(_RESPONSE, {"invitation_id": invitation.id}).first()


def lock_response(
    session: Session, invitation: AnyInvitation, *, with_answers: bool = False
) -> ResponseState | None:
    """The invitation's response, if there is one, read for a change: on PostgreSQL it stays
    locked (``SELECT … FOR UPDATE``) until the transaction ends, so passing it on to
    :func:`save_answers` or :func:`submit` (with ``locked=True``) spares them reading it
    again. On SQLite (no row locks) it is a plain read, and they read it again under the
    write lock. ``with_answers`` reads its answers too, once the lock is held (a submit
    checks them). A Core row of the few columns a change needs: no ORM objects on the
    form's posts."""
    return _read_state(session, invitation.id, with_answers=with_answers)


@dataclasses.dataclass(frozen=True)
class Draft:
    """What a page of the form shows of the stored response: whether (and when) it was
    submitted, its answers by item key (empty before the first save) and its form."""

    submitted: bool
    values: dict[str, Any]
    submitted_at: dt.datetime | None = None
    instrument_version_id: int | None = None


#: The invitation's response status and its answers (one row per answer; one row with no
#: answer columns for a response without answers), in the order of the ORM's ``answers``.
_DRAFT = (
    select(
        _responses.c.status,
        _responses.c.submitted_at,
        _responses.c.instrument_version_id,
        *_ANSWER_COLUMNS,
    )
    .select_from(_responses.outerjoin(_answers, _answers.c.response_id == _responses.c.id))
    .where(_responses.c.invitation_id == bindparam("invitation_id"))
    .order_by(_answers.c.id)
)


def find_draft(session: Session, invitation: AnyInvitation) -> Draft:
    """The stored response as a page of the form shows it (a Core query of the few columns
    it needs: a page is shown after every section, and loading ORM objects cost more than
    the rest of the lookup)."""
    rows = session.execute(_DRAFT, {"invitation_id": invitation.id}).all()
    if not rows:
        return Draft(False, {})
    first = rows[0]
    return Draft(
        first.status == ResponseStatus.SUBMITTED,
        answer_values(row for row in rows if row.item_key is not None),
        first.submitted_at,
        first.instrument_version_id,
    )


def stored_values(response: Response | ResponseState | None) -> dict[str, Any]:
    """The stored answers by item key, in the shapes :func:`save_answers` accepts (of a
    :class:`ResponseState`: the answers read with it)."""
    if response is None:
        return {}
    if isinstance(response, ResponseState):
        return dict(response.values or {})
    return answer_values(response.answers)


def answer_values(answers: Iterable[Any]) -> dict[str, Any]:
    """:func:`stored_values` of ``answers``: :class:`Answer` objects or rows of its columns."""
    values: dict[str, Any] = {}
    for answer in answers:
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
    session: Session,
    invitation: AnyInvitation,
    values: Mapping[str, Any],
    *,
    language: str,
    response: ResponseState | None = None,
    locked: bool = False,
) -> ResponseState:
    """Store ``values`` (item key → validated value, None = unanswered) as the draft.

    Only the items named in ``values`` change; the others keep their stored answers. Creates
    the response on first save. Raises :class:`AlreadySubmitted` if it was submitted.
    ``locked``: :func:`lock_response` was called in this transaction and returned ``response``.
    """
    response = _response_to_change(session, invitation, language, response, locked)
    definition = response_definition(session, invitation, response.instrument_version_id)
    _write_answers(session, response, values, definition)
    _update_response(session, response, language=language, submitted=False)
    return response


def _response_to_change(
    session: Session,
    invitation: AnyInvitation,
    language: str,
    response: ResponseState | None,
    locked: bool,
    *,
    with_answers: bool = False,
) -> ResponseState:
    """The draft that a save or submit changes, locked; :class:`AlreadySubmitted` if final.

    ``locked``: ``response`` is what :func:`lock_response` returned in this transaction
    (with its answers if ``with_answers``: a submit checks them).
    """
    if not locked or session.get_bind().dialect.name != "postgresql":
        response = _locked_response(session, invitation, language, with_answers=with_answers)
    elif response is None:  # none when it was locked: create it (or lock a concurrent one)
        response = _locked_response(
            session, invitation, language, maybe_exists=False, with_answers=with_answers
        )
    elif with_answers and response.values is None:
        response = _read_state(session, invitation.id, with_answers=True)
    if response.submitted:
        raise AlreadySubmitted(response)
    return response


def _write_answers(
    session: Session,
    response: ResponseState,
    values: Mapping[str, Any],
    definition: Mapping[str, Any],
) -> None:
    """Replace the stored answers of the items in ``values`` (a None value: no answer) of
    ``response``, whose form is ``definition``."""
    items = item_map(definition)
    unknown = sorted(set(values) - set(items))
    if unknown:  # the forms only pass item keys; a caller bug, not user input
        raise KeyError(f"not items of this instrument: {', '.join(unknown)}")
    cleared = [key for key, value in values.items() if value is None]
    if cleared:
        session.execute(
            delete(Answer).where(Answer.response_id == response.id, Answer.item_key.in_(cleared))
        )
    rows = [
        _answer_row(response.id, items[key], value)
        for key, value in values.items()
        if value is not None
    ]
    insert_answer_rows(session, rows, replace=True)


def _update_response(
    session: Session, response: ResponseState, *, language: str, submitted: bool
) -> None:
    """Record on ``response`` that its answers changed now (in ``language``), and that it is
    final if ``submitted``: one UPDATE statement, ``response`` set to match."""
    now = utcnow()
    changes: dict[str, Any] = {"language": language, "updated_at": now}
    if submitted:
        changes |= {"status": ResponseStatus.SUBMITTED, "submitted_at": now}
    session.execute(_UPDATE_RESPONSE[submitted], {"response_id": response.id, **changes})
    response.updated_at = now
    if submitted:
        response.status, response.submitted_at = ResponseStatus.SUBMITTED, now


def insert_answer_rows(
    session: Session, rows: list[dict[str, Any]], *, replace: bool = False
) -> None:
    """Insert ``answers`` rows (made from :func:`blank_answer_row`) in few statements.

    One executemany of an INSERT for the rows with multiple-choice keys and one for the
    others, so a thousand answers are two statements rather than hundreds. The JSON column
    ``choices`` is left out of the rows without choices: a None bound to it would be stored
    as JSON ``null``, not SQL NULL (the other columns bind None as SQL NULL). ``replace``:
    a row whose (response, item) is stored already replaces it (``ON CONFLICT DO UPDATE``).
    """

    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        filled = {
            name: value for name, value in row.items() if value is not None or name != "choices"
        }
        groups.setdefault(tuple(filled), []).append(filled)
    if replace:
        statement = _REPLACE_ANSWERS[session.get_bind().dialect.name == "postgresql"]
    else:
        statement = Answer.__table__.insert()
    for batch in groups.values():
        for start in range(0, len(batch), 5000):
            session.execute(statement, batch[start : start + 5000])


def _replace_answers(module) -> Any:
    """An INSERT of answers that replaces the stored answer of the same (response, item)."""
    insert = module.insert(Answer.__table__)
    values = ("number", "choice", "choices", "text", "date", "not_applicable")
    return insert.on_conflict_do_update(
        index_elements=["response_id", "item_key"],
        set_={name: insert.excluded[name] for name in values},
    )


#: The answer upsert, built once: for PostgreSQL (True) and SQLite (False).
_REPLACE_ANSWERS = {True: _replace_answers(postgresql), False: _replace_answers(sqlite)}


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
    session: Session,
    invitation: AnyInvitation,
    values: Mapping[str, Any],
    *,
    language: str,
    response: ResponseState | None = None,
    locked: bool = False,
) -> SubmitResult:
    """Save ``values`` and submit the response if every required item is answered.

    When required items are missing the answers are kept as a draft and the result lists
    them. Submitting is final. Raises :class:`AlreadySubmitted` when it was submitted before.
    ``locked``: :func:`lock_response` was called in this transaction and returned ``response``.
    """
    response = _response_to_change(
        session, invitation, language, response, locked, with_answers=True
    )
    # what will be stored once ``values`` are: the stored answers, those of ``values`` replaced
    after = {key: value for key, value in stored_values(response).items() if key not in values}
    after.update((key, value) for key, value in values.items() if value is not None)
    definition = response_definition(session, invitation, response.instrument_version_id)
    missing = missing_required(definition, after)
    _write_answers(session, response, values, definition)
    response.values = after
    # one UPDATE of the response: when its answers changed, and final if they are complete
    _update_response(session, response, language=language, submitted=not missing)
    if missing:
        return SubmitResult(response, missing)
    data_changed(session, invitation.campaign.institution_id)  # its indicators are stale now
    record_event(
        session,
        "responses.submit",
        object_type=Response.__name__,
        object_id=response.id,
        institution_id=invitation.campaign.institution_id,
        details={"campaign": invitation.campaign_id, "invitation": invitation.id},
        actor="employer link",
    )
    return SubmitResult(response, [])


def _locked_response(
    session: Session,
    invitation: AnyInvitation,
    language: str,
    *,
    maybe_exists: bool = True,
    with_answers: bool = False,
) -> ResponseState:
    """The invitation's response, created if needed, locked for this transaction.

    On PostgreSQL an existing response (every save but the first) is locked by one
    ``SELECT … FOR UPDATE``; only a missing one is inserted (``RETURNING`` it: a row this
    transaction inserted is its own until it commits). SQLite has no row locks: its write
    lock comes with the first write of the transaction, so there the insert always comes
    first and a read after it (when the response existed) sees the latest committed state.
    ``maybe_exists=False``: the caller found none in this transaction; try the insert first.
    ``with_answers``: read its stored answers too (a new response has none).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and maybe_exists:
        response = _read_state(session, invitation.id, with_answers=with_answers)
        if response is not None:
            return response
    now = utcnow()
    version_id = invitation.campaign.instrument_version_id
    created = session.execute(
        _CREATE_RESPONSE[dialect == "postgresql"],
        {
            "invitation_id": invitation.id,
            "instrument_version_id": version_id,
            "status": ResponseStatus.DRAFT,
            "public_id": new_pseudonym("R"),
            "language": language,
            "started_at": now,
            "updated_at": now,
        },
    ).first()
    if created is not None:
        return ResponseState(
            created.id,
            ResponseStatus.DRAFT,
            version_id,
            now,
            values={} if with_answers else None,
        )
    return _read_state(session, invitation.id, with_answers=with_answers)


def _create_response(module) -> Any:
    """The INSERT of a draft response that does nothing if the invitation has one, for a
    dialect's ``insert`` (built once: made anew per first save, it was cache-keyed each
    time). The values are the columns' own parameters."""
    return (
        module.insert(_responses)
        .on_conflict_do_nothing(index_elements=["invitation_id"])
        .returning(_responses.c.id)
    )


#: :func:`_locked_response`'s insert: for PostgreSQL (True) and SQLite (False).
_CREATE_RESPONSE = {True: _create_response(postgresql), False: _create_response(sqlite)}


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
