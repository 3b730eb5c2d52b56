"""Sending invitations and reminders in batches that are safe to run again (from cron).

``send_invitations`` mails every invitation of a campaign that has not gone out;
``send_reminders`` mails the reminder each invitation is due for under the campaign's
schedule (``reminder_days`` after the invitation), unless the employer submitted, declined
or the link was withdrawn. Both go through :func:`deliver`:

1. **Claim**: a :class:`~surveys.campaigns.models.DeliveryAttempt` row ``sending`` is
   inserted and committed *before* the message goes to the mail server. Its key
   (invitation, issue, step, try) is unique: two batches running at once cannot both send
   a message; a rerun skips what is claimed.
2. **Send** over the batch's one SMTP connection.
3. **Record** the reply in the same row (``sent``, ``retry`` or ``failed``), and on the
   invitation (``sent_at`` / ``reminder_count``, or ``failed_at``), committed at once.

A batch that dies between messages (a crash, ``kill``) leaves every sent message recorded
and every unsent one unclaimed: the rerun sends exactly the rest. The only message it
cannot judge is the one in flight when it died (claimed, no reply recorded); after
:data:`IN_FLIGHT_LEASE` it is tried again with the same ``Message-ID``. Temporary failures
(4xx, server unreachable) are retried by later runs after an exponential back-off, at most
:data:`MAX_TRIES` times; a 5xx refusal marks the invitation ``failed`` at once.

The batch's commits do not wait for the disk, on its own connection only (PostgreSQL:
``synchronous_commit = off``; SQLite in write-ahead-log mode: ``synchronous = NORMAL``): a
commit is visible to every other session at once and survives the batch's own death,
which is what the steps above rely on; only the database server or the machine crashing
could lose the last moments of records, whose messages then look in flight and go again
after the lease with the same ``Message-ID`` (a mail system can tell the copy). Waiting
for the disk on each of 10,000 replies took most of a batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import Update, bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.campaigns.mail import (
    Letter,
    Mailer,
    MailServerUnreachable,
    SmtpReply,
    SmtpSettings,
    compose_all,
)
from surveys.campaigns.models import (
    Campaign,
    CampaignStatus,
    DeliveryAttempt,
    DeliveryState,
    Invitation,
)
from surveys.campaigns.services import local_today
from surveys.campaigns.tokens import token_for
from surveys.orm import utcnow
from surveys.registry.models import EmployerLink, Graduate, Programme
from surveys.responses.models import Response, ResponseStatus

#: Tries of one message before a temporary failure counts as final.
MAX_TRIES = 5
#: Wait before the second try; doubled for each further one (5, 10, 20, 40 minutes).
FIRST_BACKOFF = dt.timedelta(minutes=5)
#: A claimed message with no recorded reply after this long was lost with its batch.
IN_FLIGHT_LEASE = dt.timedelta(minutes=15)
#: Invitations read per query while a batch runs (memory stays flat for any campaign).
CHUNK = 500


class Mode(enum.StrEnum):
    INVITE = "invite"
    REMIND = "remind"


@dataclasses.dataclass
class DeliveryResult:
    """What one batch did."""

    mode: str
    sent: int = 0
    failed: int = 0  #: refused for good (or out of tries) now
    retry_later: int = 0  #: a temporary failure now; a later run tries again
    unreachable: str | None = None  #: why the batch stopped early, if the server was gone
    connections: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class DeliveryError(ValueError):
    """The batch cannot start (unknown campaign, campaign not open); nothing was sent."""


@dataclasses.dataclass(frozen=True)
class _Due:
    invitation_id: int
    issue: int
    step: int
    try_number: int


def backoff(try_number: int) -> dt.timedelta:
    """The wait after the ``try_number``-th try failed for a temporary reason."""
    return FIRST_BACKOFF * 2 ** (try_number - 1)


def reminder_step(sent_at: dt.datetime, days: list[int], now: dt.datetime) -> int:
    """How many reminders of the schedule are due ``now`` for a message sent at ``sent_at``
    (the step to send: a run that missed a day sends the latest one only)."""
    return sum(1 for day in days if sent_at + dt.timedelta(days=day) <= now)


def _candidates(
    session: Session, campaign: Campaign, mode: Mode, now: dt.datetime
) -> Iterator[list[tuple[Invitation, int]]]:
    """(invitation, step) pairs that may need a message, in chunks of :data:`CHUNK`."""
    submitted = select(Response.invitation_id).where(
        Response.invitation_id == Invitation.id, Response.status == ResponseStatus.SUBMITTED
    )
    query = (
        select(Invitation)
        .where(
            Invitation.campaign_id == campaign.id,
            Invitation.withdrawn_at.is_(None),
            Invitation.declined_at.is_(None),
            Invitation.email.is_not(None),
            Invitation.email != "",
            ~submitted.exists(),
        )
        .order_by(Invitation.id)
    )
    if mode == Mode.INVITE:
        query = query.where(Invitation.sent_at.is_(None))
    else:
        query = query.where(Invitation.sent_at.is_not(None), Invitation.failed_at.is_(None))
    last_id = 0
    while True:
        chunk = list(session.scalars(query.where(Invitation.id > last_id).limit(CHUNK)))
        if not chunk:
            return
        last_id = chunk[-1].id
        pairs = []
        for invitation in chunk:
            if mode == Mode.INVITE:
                pairs.append((invitation, 0))
            else:
                step = reminder_step(invitation.sent_at, list(campaign.reminder_days), now)
                if step > invitation.reminder_count:
                    pairs.append((invitation, step))
        yield pairs


def _due(session: Session, pairs: list[tuple[Invitation, int]], now: dt.datetime) -> list[_Due]:
    """The pairs whose step still needs a try now, with the try's number."""
    if not pairs:
        return []
    ids = [invitation.id for invitation, _ in pairs]
    attempts: dict[tuple[int, int, int], DeliveryAttempt] = {}
    for attempt in session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.invitation_id.in_(ids))
        .order_by(DeliveryAttempt.try_number)
    ):  # the last try of each step wins
        attempts[(attempt.invitation_id, attempt.issue, attempt.step)] = attempt
    due = []
    for invitation, step in pairs:
        last = attempts.get((invitation.id, invitation.issue, step))
        if last is None:
            due.append(_Due(invitation.id, invitation.issue, step, 1))
            continue
        retry_now = last.state == DeliveryState.RETRY and (last.next_try_at or now) <= now
        lost = last.state == DeliveryState.SENDING and last.started_at + IN_FLIGHT_LEASE <= now
        if retry_now or lost:
            due.append(_Due(invitation.id, invitation.issue, step, last.try_number + 1))
        # SENT or FAILED: done; SENDING within its lease: another batch has it
    return due


def _letters(
    session: Session,
    campaign: Campaign,
    due: list[_Due],
    *,
    secret_key: str,
    base_url: str,
    contact: str,
) -> dict[int, Letter]:
    """What each due message says, read in one query (names as the institution keeps them)."""
    rows = session.execute(
        select(Invitation, EmployerLink.name, Graduate.full_name, Programme)
        .join(Graduate, Graduate.id == Invitation.graduate_id)
        .join(Programme, Programme.id == Graduate.programme_id)
        .outerjoin(
            EmployerLink,
            (EmployerLink.employer_id == Invitation.employer_id)
            & (EmployerLink.institution_id == campaign.institution_id),
        )
        .where(Invitation.id.in_([d.invitation_id for d in due]))
    )
    steps = {d.invitation_id: d.step for d in due}
    base = base_url.rstrip("/")
    letters = {}
    for invitation, employer, graduate, programme in rows:
        language = invitation.language or campaign.language
        link = f"{base}/s/{token_for(invitation.nonce, secret_key)}"
        letters[invitation.id] = Letter(
            invitation_id=invitation.id,
            issue=invitation.issue,
            step=steps[invitation.id],
            email=invitation.email or "",
            language=language,
            employer=employer or "",
            graduate=graduate,
            programme=programme.name_in(language),
            institution=campaign.institution.name_in(language),
            campaign_text=(campaign.invitation_texts or {}).get(language),
            link=link,
            decline_link=f"{link}/decline",
            deadline=campaign.closes_on,
            contact=contact,
        )
    return letters


def _attempt_row(due: _Due, letter: Letter, message_id: str, now: dt.datetime) -> dict:
    return {
        "invitation_id": due.invitation_id,
        "issue": due.issue,
        "step": due.step,
        "try_number": due.try_number,
        "state": DeliveryState.SENDING,
        "email": letter.email,
        "message_id": message_id,
        "started_at": now,
    }


def _claim(
    writer: Connection, items: list[tuple[_Due, Letter, str]], now: dt.datetime
) -> list[tuple[_Due, int]]:
    """Insert and commit the attempt rows of a chunk (one transaction); the items claimed
    with their attempt ids. If another batch claimed one of them first, the chunk is
    claimed one row at a time, skipping what the other has."""
    if not items:
        return []
    rows = [_attempt_row(due, letter, message_id, now) for due, letter, message_id in items]
    statement = insert(DeliveryAttempt).returning(DeliveryAttempt.id, sort_by_parameter_order=True)
    try:
        with writer.begin():
            ids = list(writer.execute(statement, rows).scalars())
        return [(due, attempt_id) for (due, _, _), attempt_id in zip(items, ids, strict=True)]
    except IntegrityError:
        pass
    claimed = []
    for (due, _, _), row in zip(items, rows, strict=True):
        try:
            with writer.begin():
                claimed.append((due, writer.execute(statement, [row]).scalar_one()))
        except IntegrityError:
            continue
    return claimed


def _record(
    writer: Connection, attempt_id: int, due: _Due, reply: SmtpReply, now: dt.datetime
) -> DeliveryState:
    """Write the server's reply to the attempt and the invitation; commit; the new state."""
    attempt: dict[str, Any] = {
        "smtp_code": reply.code,
        "smtp_reply": reply.text[:1000],
        "finished_at": now,
    }
    invitation: dict[str, Any] = {}
    if reply.accepted:
        attempt["state"] = DeliveryState.SENT
        invitation["failed_at"] = None
        if due.step == 0:
            invitation["sent_at"] = now
        else:
            invitation["reminder_count"] = due.step
            invitation["last_reminded_at"] = now
    elif reply.permanent or due.try_number >= MAX_TRIES:
        attempt["state"] = DeliveryState.FAILED
        invitation["failed_at"] = now
    else:
        attempt["state"] = DeliveryState.RETRY
        attempt["next_try_at"] = now + backoff(due.try_number)
    with writer.begin():
        writer.execute(_updater(DeliveryAttempt, tuple(attempt)), _params(attempt_id, attempt))
        if invitation:
            writer.execute(
                _updater(Invitation, tuple(invitation)), _params(due.invitation_id, invitation)
            )
    return attempt["state"]


@functools.cache
def _updater(model: type[DeliveryAttempt] | type[Invitation], columns: tuple[str, ...]) -> Update:
    """``UPDATE model SET columns WHERE id = :row``, built once per set of columns (building
    it anew for each of thousands of messages cost more than executing it)."""
    return (
        update(model)
        .where(model.id == bindparam("row"))
        .values({column: bindparam(f"new_{column}") for column in columns})
    )


def _params(row_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"row": row_id, **{f"new_{column}": value for column, value in values.items()}}


def _release(writer: Connection, attempt_ids: list[int], now: dt.datetime) -> None:
    """Claimed messages a stopped batch never handed over: due again at once (RETRY)."""
    if attempt_ids:
        with writer.begin():
            writer.execute(
                update(DeliveryAttempt)
                .where(
                    DeliveryAttempt.id.in_(attempt_ids),
                    DeliveryAttempt.state == DeliveryState.SENDING,
                )
                .values(
                    state=DeliveryState.RETRY,
                    next_try_at=now,
                    finished_at=now,
                    smtp_reply="not tried: the batch stopped before it",
                )
            )


@contextlib.contextmanager
def _writer(engine: Engine) -> Iterator[Connection]:
    """The one connection a batch commits its claims and replies on (no pool checkout and
    liveness ping per message); on PostgreSQL without waiting for the disk (see the module),
    reset before it goes back to the pool."""
    with engine.connect() as writer:
        dialect = writer.dialect.name
        if dialect == "postgresql":
            with writer.begin():
                writer.exec_driver_sql("SET synchronous_commit TO off")
        elif dialect == "sqlite":  # in write-ahead-log mode: no fsync per commit
            before = writer.exec_driver_sql("PRAGMA synchronous").scalar()
            writer.exec_driver_sql("PRAGMA synchronous = NORMAL")
            writer.commit()
        try:
            yield writer
        finally:
            if not writer.invalidated:
                if dialect == "postgresql":
                    with writer.begin():
                        writer.exec_driver_sql("RESET synchronous_commit")
                elif dialect == "sqlite":
                    writer.exec_driver_sql(f"PRAGMA synchronous = {int(before)}")
                    writer.commit()


def deliver(
    engine: Engine,
    campaign_id: int,
    mode: Mode | str,
    *,
    config: Mapping[str, Any],
    now: dt.datetime | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    mailer: Mailer | None = None,
) -> DeliveryResult:
    """Send the invitations (``mode="invite"``) or due reminders (``"remind"``) of a campaign.

    Commits as it goes, in transactions of its own (see the module). ``config`` is the
    app's (``SECRET_KEY``, ``HAMKOR_BASE_URL``, ``HAMKOR_SMTP_*``, ``HAMKOR_TIMEZONE``);
    ``now`` is the time the schedule is judged at. Raises :class:`DeliveryError` when the
    campaign does not exist or does not take answers now (nothing is sent then).
    """
    mode = Mode(mode)
    now = now or utcnow()
    settings = SmtpSettings.from_config(config)
    result = DeliveryResult(mode=mode.value)
    # the reader's session reads chunks; the writer commits each claim and each reply
    with Session(engine, expire_on_commit=False) as reader, _writer(engine) as writer:
        campaign = reader.get(Campaign, campaign_id)
        if campaign is None:
            raise DeliveryError(f"no campaign with id {campaign_id}")
        today = local_today(config["HAMKOR_TIMEZONE"], now)
        if campaign.status != CampaignStatus.OPEN:
            raise DeliveryError(
                f"campaign {campaign.id} is {campaign.status.value}: only an open campaign's "
                "links are sent"
            )
        if not campaign.opens_on <= today <= campaign.closes_on:
            raise DeliveryError(
                f"campaign {campaign.id} takes answers from {campaign.opens_on} to "
                f"{campaign.closes_on}: its links do not open today ({today})"
            )
        contact = campaign.contact_email or settings.sender
        own_mailer = mailer is None
        mailer = mailer or Mailer(settings)
        done = 0
        try:
            for pairs in _candidates(reader, campaign, mode, now):
                done += len(pairs)
                due = _due(reader, pairs, now)
                letters = _letters(
                    reader,
                    campaign,
                    due,
                    secret_key=config["SECRET_KEY"],
                    base_url=config["HAMKOR_BASE_URL"],
                    contact=contact,
                )
                messages = compose_all(list(letters.values()), settings)
                claimed = _claim(
                    writer,
                    [
                        (
                            item,
                            letters[item.invitation_id],
                            messages[item.invitation_id].message_id,
                        )
                        for item in due
                    ],
                    now,
                )
                for item, attempt_id in claimed:
                    message = messages[item.invitation_id]
                    try:
                        reply = mailer.send(message)
                    except MailServerUnreachable as exc:
                        _record(writer, attempt_id, item, SmtpReply(None, str(exc)), now)
                        result.retry_later += 1
                        result.unreachable = str(exc)
                        _release(writer, [a for _, a in claimed if a != attempt_id], now)
                        return result
                    state = _record(writer, attempt_id, item, reply, now)
                    if state == DeliveryState.SENT:
                        result.sent += 1
                    elif state == DeliveryState.FAILED:
                        result.failed += 1
                    else:
                        result.retry_later += 1
                reader.expunge_all()  # the chunk's rows are done with: memory stays flat
                if progress is not None:
                    progress(done, None)
        finally:
            result.connections = mailer.connections
            if own_mailer:
                mailer.close()
            with Session(engine) as session:
                record_event(
                    session,
                    f"invitations.{'send' if mode == Mode.INVITE else 'remind'}",
                    object_type="campaign",
                    object_id=campaign_id,
                    institution_id=campaign.institution_id,
                    details=result.as_dict(),
                )
                session.commit()
    return result


def delivery_failures(session: Session, campaign_id: int, limit: int = 50) -> list[Any]:
    """The latest failed or retried attempts of a campaign, newest first, with the reply."""
    return list(
        session.execute(
            select(DeliveryAttempt, EmployerLink.name)
            .join(Invitation, Invitation.id == DeliveryAttempt.invitation_id)
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .outerjoin(
                EmployerLink,
                (EmployerLink.employer_id == Invitation.employer_id)
                & (EmployerLink.institution_id == Campaign.institution_id),
            )
            .where(
                Invitation.campaign_id == campaign_id,
                DeliveryAttempt.state.in_((DeliveryState.FAILED, DeliveryState.RETRY)),
            )
            .order_by(DeliveryAttempt.id.desc())
            .limit(limit)
        )
    )
