"""Creating survey campaigns and their personal invitations.

A campaign asks the employers of one graduation cohort to assess the graduates they employ:
one invitation per (employer, graduate) pair found in the employment records, each with its
own secret link (see ``surveys.campaigns.tokens``).
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable, Mapping

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.campaigns.models import (
    Campaign,
    CampaignStatus,
    Invitation,
    InvitationStatus,
    campaign_programmes,
)
from surveys.campaigns.tokens import assign_token
from surveys.datachanges import data_changed
from surveys.instruments.models import InstrumentVersion
from surveys.orm import utcnow
from surveys.registry.models import (
    EmployerLink,
    EmploymentRecord,
    Graduate,
    Institution,
    Programme,
)
from surveys.responses.models import Response, ResponseStatus
from surveys.search import search_condition

#: Languages an invitation (and the form behind it) can be in.
INVITATION_LANGUAGES = ("uz", "ru", "en")
DEFAULT_LANGUAGE = "uz"


#: The placeholders an invitation text may use (``{employer}`` …); ``{link}`` is required.
PLACEHOLDERS = ("employer", "graduate", "programme", "link", "deadline")

#: The campaign states each state may move to (reopening a closed campaign is audited).
TRANSITIONS: dict[CampaignStatus, tuple[CampaignStatus, ...]] = {
    CampaignStatus.DRAFT: (CampaignStatus.OPEN,),
    CampaignStatus.OPEN: (CampaignStatus.CLOSED,),
    CampaignStatus.CLOSED: (CampaignStatus.OPEN, CampaignStatus.ARCHIVED),
    CampaignStatus.ARCHIVED: (CampaignStatus.CLOSED,),
}

#: Campaign states in which a second campaign of the same instrument × programme × year is
#: refused (it would invite the same employers about the same graduates again).
ACTIVE_STATES = (CampaignStatus.DRAFT, CampaignStatus.OPEN)


class CampaignError(ValueError):
    """A campaign cannot be created as asked; the message says which value and why.

    ``field`` names the form field concerned, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DuplicateCampaign(CampaignError):
    """Another draft or open campaign already covers the instrument, a programme and year."""

    def __init__(self, message: str, existing: Campaign) -> None:
        super().__init__(message, "programmes")
        self.existing = existing


def placeholder_problem(text: str) -> tuple[str, str] | None:
    """What is wrong with an invitation text's placeholders: ``("brace", "")`` (an unpaired
    brace), ``("unknown", name)``, ``("no_link", "")`` (no ``{link}``), or None."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        return ("brace", "")
    for name in names:
        if name not in PLACEHOLDERS:
            return ("unknown", name)
    if "link" not in names:
        return ("no_link", "")
    return None


def check_invitation_text(text: str, *, language: str = "") -> None:
    """Refuse an invitation text with an unknown or malformed ``{placeholder}``, or without
    ``{link}`` (the employer could not answer). Raises :class:`CampaignError`."""
    field = f"text_{language}" if language else None
    where = f" ({language})" if language else ""
    problem = placeholder_problem(text)
    if problem is None:
        return
    kind, name = problem
    if kind == "brace":
        raise CampaignError(
            f"the invitation text{where} has an unpaired brace: write placeholders as "
            "{link}, and a brace itself as {{ or }}",
            field,
        )
    if kind == "unknown":
        raise CampaignError(
            f"the invitation text{where} has an unknown placeholder {{{name}}}; "
            f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
            field,
        )
    raise CampaignError(
        f"the invitation text{where} must contain {{link}}, the employer's personal link",
        field,
    )


def check_reminder_days(days: Iterable[int]) -> list[int]:
    """The reminder schedule sorted, without repeats; each day 1..365."""
    result = sorted(set(days))
    for day in result:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 365:
            raise CampaignError(
                f"a reminder is sent 1 to 365 days after the invitation, got {day!r}",
                "reminder_days",
            )
    if len(result) > 10:
        raise CampaignError("at most 10 reminders", "reminder_days")
    return result


def find_duplicate(
    session: Session,
    *,
    institution_id: int,
    instrument_id: int,
    programme_ids: Iterable[int],
    year: int,
    exclude_id: int | None = None,
) -> Campaign | None:
    """The first draft or open campaign of the institution with the same instrument (any
    version), one of ``programme_ids`` and ``year``, or None."""
    query = (
        select(Campaign)
        .join(InstrumentVersion, InstrumentVersion.id == Campaign.instrument_version_id)
        .join(campaign_programmes, campaign_programmes.c.campaign_id == Campaign.id)
        .where(
            Campaign.institution_id == institution_id,
            InstrumentVersion.instrument_id == instrument_id,
            Campaign.year == year,
            Campaign.status.in_(ACTIVE_STATES),
            campaign_programmes.c.programme_id.in_(list(programme_ids)),
        )
        .order_by(Campaign.id)
        .limit(1)
    )
    if exclude_id is not None:
        query = query.where(Campaign.id != exclude_id)
    return session.scalars(query).first()


def _refuse_duplicate(session: Session, campaign_like: dict, exclude_id: int | None) -> None:
    first = find_duplicate(session, exclude_id=exclude_id, **campaign_like)
    if first is not None:
        raise DuplicateCampaign(
            _(
                "campaign %(id)s \u201c%(name)s\u201d (%(status)s) already invites employers "
                "about these graduates: same instrument, year %(year)s and programme; close it "
                "first, or edit it",
                id=first.id,
                name=first.name,
                status=first.status.value,
                year=first.year,
            ),
            first,
        )


def create_campaign(
    session: Session,
    *,
    institution_id: int,
    instrument_version_id: int,
    year: int,
    programme_ids: Iterable[int],
    name: str | None,
    opens_on: dt.date,
    closes_on: dt.date,
    status: CampaignStatus = CampaignStatus.OPEN,
    language: str = DEFAULT_LANGUAGE,
    reminder_days: Iterable[int] = (),
    invitation_texts: Mapping[str, str] | None = None,
    contact_email: str | None = None,
    allow_duplicate: bool = False,
) -> Campaign:
    """Create a campaign of one institution's programme(s) for graduation ``year``.

    Raises :class:`CampaignError` when the institution or instrument version does not exist,
    no programme is given, a programme belongs to another institution, the year is outside
    1950..2100, ``closes_on`` is before ``opens_on``, an invitation text has an unknown
    placeholder, or (:class:`DuplicateCampaign`, unless ``allow_duplicate``) a draft or open
    campaign already covers the same instrument, a programme and the year. An empty
    ``name`` becomes "<instrument title> <year> — <institution>" in ``language``.
    """
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise CampaignError(f"institution {institution_id} does not exist")
    version = session.get(InstrumentVersion, instrument_version_id)
    if version is None:
        raise CampaignError(f"instrument version {instrument_version_id} does not exist")
    if isinstance(year, bool) or not isinstance(year, int) or not 1950 <= year <= 2100:
        raise CampaignError(f"year must be a graduation year between 1950 and 2100, got {year!r}")
    if not isinstance(opens_on, dt.date) or not isinstance(closes_on, dt.date):
        raise CampaignError("opening and closing dates must be dates (YYYY-MM-DD)")
    if closes_on < opens_on:
        raise CampaignError(
            f"the closing date {closes_on.isoformat()} is before the opening date "
            f"{opens_on.isoformat()}"
        )
    wanted = list(dict.fromkeys(programme_ids))
    if not wanted:
        raise CampaignError("choose at least one programme")
    programmes = list(session.scalars(select(Programme).where(Programme.id.in_(wanted))))
    found = {p.id: p for p in programmes}
    missing = [str(pid) for pid in wanted if pid not in found]
    if missing:
        raise CampaignError(f"programme(s) {', '.join(missing)} do not exist")
    foreign = [p.code for p in programmes if p.institution_id != institution.id]
    if foreign:
        raise CampaignError(
            f"programme(s) {', '.join(sorted(foreign))} do not belong to institution "
            f"{institution.code}"
        )
    status = CampaignStatus(status)
    if language not in INVITATION_LANGUAGES:
        raise CampaignError(
            f"language must be one of {', '.join(INVITATION_LANGUAGES)}, got {language!r}",
            "language",
        )
    days = check_reminder_days(reminder_days)
    texts = _checked_texts(invitation_texts)
    name = (name or "").strip() or default_name(version, year, institution, language)
    if len(name) > 255:
        raise CampaignError("the campaign name must be at most 255 characters", "name")
    if not allow_duplicate:
        _refuse_duplicate(
            session,
            {
                "institution_id": institution.id,
                "instrument_id": version.instrument_id,
                "programme_ids": wanted,
                "year": year,
            },
            None,
        )

    campaign = Campaign(
        institution_id=institution.id,
        instrument_version_id=version.id,
        name=name,
        year=year,
        opens_on=opens_on,
        closes_on=closes_on,
        status=status,
        language=language,
        reminder_days=days,
        invitation_texts=texts,
        contact_email=_checked_contact(contact_email),
        programmes=[found[pid] for pid in wanted],
    )
    session.add(campaign)
    session.flush()
    data_changed(session, institution.id)
    record_event(
        session,
        "campaigns.create",
        obj=campaign,
        details={
            "name": name,
            "instrument": version.instrument.key,
            "version": version.version,
            "year": year,
            "programmes": sorted(p.code for p in programmes),
            "opens_on": opens_on.isoformat(),
            "closes_on": closes_on.isoformat(),
            "status": status.value,
            "language": language,
            "reminder_days": days,
            **({"allowed_duplicate": True} if allow_duplicate else {}),
        },
    )
    return campaign


def default_name(
    version: InstrumentVersion, year: int, institution: Institution, language: str
) -> str:
    """The name of a campaign nobody named: instrument title, year and institution, in the
    campaign's language (the instrument's and institution's own names in it, if they have)."""
    from surveys.instruments.definitions import text

    title = text(version.definition.get("title"), language) or version.instrument.name
    return f"{title} {year} \u2014 {institution.name_in(language)}"


def _checked_contact(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 320 or email.count("@") != 1 or " " in email or "." not in email.split("@")[1]:
        raise CampaignError(f"{email!r} is not an e-mail address", "contact_email")
    return email


def _checked_texts(texts: Mapping[str, str] | None) -> dict[str, str]:
    result = {}
    for language, text_ in (texts or {}).items():
        if language not in INVITATION_LANGUAGES:
            raise CampaignError(f"no invitation language {language!r}")
        text_ = (text_ or "").strip()
        if text_:
            if len(text_) > 5000:
                raise CampaignError(
                    f"the invitation text ({language}) must be at most 5000 characters",
                    f"text_{language}",
                )
            check_invitation_text(text_, language=language)
            result[language] = text_
    return result


def update_campaign(
    session: Session,
    campaign: Campaign,
    *,
    name: str,
    instrument_version_id: int,
    year: int,
    programme_ids: Iterable[int],
    opens_on: dt.date,
    closes_on: dt.date,
    language: str,
    reminder_days: Iterable[int],
    invitation_texts: Mapping[str, str],
    contact_email: str | None = None,
) -> Campaign:
    """Change a campaign's settings. While it is a draft everything may change; once open,
    only its name, closing date, reminders and texts (the invited pairs are fixed).
    Raises :class:`CampaignError` as :func:`create_campaign` does."""
    if campaign.status == CampaignStatus.ARCHIVED:
        raise CampaignError(_("an archived campaign cannot be changed"))
    if not isinstance(opens_on, dt.date) or not isinstance(closes_on, dt.date):
        raise CampaignError("opening and closing dates must be dates (YYYY-MM-DD)", "opens_on")
    if closes_on < opens_on:
        raise CampaignError(
            f"the closing date {closes_on.isoformat()} is before the opening date "
            f"{opens_on.isoformat()}",
            "closes_on",
        )
    if language not in INVITATION_LANGUAGES:
        raise CampaignError(f"no invitation language {language!r}", "language")
    days = check_reminder_days(reminder_days)
    texts = _checked_texts(invitation_texts)
    wanted = list(dict.fromkeys(programme_ids))
    draft = campaign.status == CampaignStatus.DRAFT
    if draft:
        version = session.get(InstrumentVersion, instrument_version_id)
        if version is None:
            raise CampaignError("choose an instrument version", "instrument_version")
        if not 1950 <= year <= 2100:
            raise CampaignError("the graduation year must be between 1950 and 2100", "year")
        if not wanted:
            raise CampaignError("choose at least one programme", "programmes")
        programmes = list(session.scalars(select(Programme).where(Programme.id.in_(wanted))))
        if len(programmes) != len(wanted) or any(
            p.institution_id != campaign.institution_id for p in programmes
        ):
            raise CampaignError("choose programmes of the campaign's institution", "programmes")
        _refuse_duplicate(
            session,
            {
                "institution_id": campaign.institution_id,
                "instrument_id": version.instrument_id,
                "programme_ids": wanted,
                "year": year,
            },
            campaign.id,
        )
        campaign.instrument_version_id = version.id
        campaign.year = year
        campaign.programmes = programmes
        campaign.opens_on = opens_on
    elif opens_on != campaign.opens_on:
        raise CampaignError(_("the opening date of an opened campaign cannot change"), "opens_on")
    name = (name or "").strip()
    if not name:
        raise CampaignError("give the campaign a name", "name")
    if len(name) > 255:
        raise CampaignError("the campaign name must be at most 255 characters", "name")
    campaign.name = name
    campaign.closes_on = closes_on
    campaign.language = language
    campaign.reminder_days = days
    campaign.invitation_texts = texts
    campaign.contact_email = _checked_contact(contact_email)
    session.flush()
    data_changed(session, campaign.institution_id)
    record_event(
        session,
        "campaigns.update",
        obj=campaign,
        details={
            "name": name,
            "closes_on": closes_on.isoformat(),
            "language": language,
            "reminder_days": days,
            "texts": sorted(texts),
        },
    )
    return campaign


def change_status(
    session: Session, campaign: Campaign, new: CampaignStatus, *, allow_duplicate: bool = False
) -> Campaign:
    """Move a campaign to ``new`` (see :data:`TRANSITIONS`); audited.

    Opening needs invitations (a campaign that invites nobody opens nothing) and no other
    draft or open campaign of the same instrument × programme × year (unless
    ``allow_duplicate``, as its creation was asked); closing stops every
    link at once (they answer "closed", the numbers stop moving); reopening a closed
    campaign is recorded as such in the audit log.
    """
    new = CampaignStatus(new)
    old = campaign.status
    if new not in TRANSITIONS[old]:
        article = "an" if old.value[0] in "aeiou" else "a"
        raise CampaignError(f"{article} {old.value} campaign cannot become {new.value}", "status")
    if new == CampaignStatus.OPEN:
        count = session.scalar(
            select(func.count(Invitation.id)).where(
                Invitation.campaign_id == campaign.id, Invitation.withdrawn_at.is_(None)
            )
        )
        if not count:
            reason = nobody_invited(session, campaign)
            raise CampaignError(
                _("the campaign invites nobody, so it is not opened: %(reason)s", reason=reason)
            )
        if not allow_duplicate:
            _refuse_duplicate(
                session,
                {
                    "institution_id": campaign.institution_id,
                    "instrument_id": campaign.instrument_version.instrument_id,
                    "programme_ids": [p.id for p in campaign.programmes],
                    "year": campaign.year,
                },
                campaign.id,
            )
    campaign.status = new
    session.flush()
    data_changed(session, campaign.institution_id)
    action = {
        (CampaignStatus.CLOSED, CampaignStatus.OPEN): "campaigns.reopen",
        (CampaignStatus.DRAFT, CampaignStatus.OPEN): "campaigns.open",
        (CampaignStatus.OPEN, CampaignStatus.CLOSED): "campaigns.close",
        (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED): "campaigns.archive",
        (CampaignStatus.ARCHIVED, CampaignStatus.CLOSED): "campaigns.unarchive",
    }[(old, new)]
    record_event(session, action, obj=campaign, details={"from": old.value, "to": new.value})
    return campaign


def local_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """Today in the institution's time zone (``HAMKOR_TIMEZONE``; UTC if it is no zone):
    the day on which campaigns open and close."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or utcnow()).astimezone(zone).date()


def campaign_counts(
    session: Session, campaign_ids: Iterable[int] | None = None
) -> dict[int, dict[str, int]]:
    """Per campaign: ``invited`` (links not withdrawn), ``sent`` (accepted by the mail
    server) and ``submitted``."""
    submitted = func.count(Response.id)
    query = (
        select(
            Invitation.campaign_id,
            func.count(Invitation.id),
            func.count(Invitation.sent_at),
            submitted,
        )
        .outerjoin(
            Response,
            (Response.invitation_id == Invitation.id)
            & (Response.status == ResponseStatus.SUBMITTED),
        )
        .where(Invitation.withdrawn_at.is_(None))
        .group_by(Invitation.campaign_id)
    )
    if campaign_ids is not None:
        query = query.where(Invitation.campaign_id.in_(list(campaign_ids)))
    return {
        cid: {"invited": invited, "sent": sent, "submitted": n_submitted}
        for cid, invited, sent, n_submitted in session.execute(query)
    }


# --- invitation statuses: one rule, in SQL, for the CLI, the pages and the exports --------


def accepting_condition(today: dt.date) -> ColumnElement[bool]:
    """Campaigns whose links take answers on ``today`` (:meth:`Campaign.is_accepting`)."""
    return and_(
        Campaign.status == CampaignStatus.OPEN,
        Campaign.opens_on <= today,
        Campaign.closes_on >= today,
    )


def _expired_condition(today: dt.date) -> ColumnElement[bool]:
    return (Campaign.status.in_((CampaignStatus.CLOSED, CampaignStatus.ARCHIVED))) | (
        (Campaign.status == CampaignStatus.OPEN) & (Campaign.closes_on < today)
    )


def status_expression(today: dt.date) -> ColumnElement[str]:
    """An invitation's :class:`InvitationStatus` on ``today``, as SQL.

    Needs ``Campaign`` joined and ``Response`` outer-joined. The first that applies wins:
    withdrawn, submitted, declined, expired (the campaign closed before a submission),
    draft, opened, failed (refused by the mail server), sent, not sent.
    """
    return case(
        (Invitation.withdrawn_at.is_not(None), literal(InvitationStatus.WITHDRAWN.value)),
        (Response.status == ResponseStatus.SUBMITTED, literal(InvitationStatus.SUBMITTED.value)),
        (Invitation.declined_at.is_not(None), literal(InvitationStatus.DECLINED.value)),
        (_expired_condition(today), literal(InvitationStatus.EXPIRED.value)),
        (Response.status == ResponseStatus.DRAFT, literal(InvitationStatus.DRAFT.value)),
        (Invitation.opened_at.is_not(None), literal(InvitationStatus.OPENED.value)),
        (Invitation.failed_at.is_not(None), literal(InvitationStatus.FAILED.value)),
        (Invitation.sent_at.is_not(None), literal(InvitationStatus.SENT.value)),
        else_=literal(InvitationStatus.NOT_SENT.value),
    )


def opens_form_condition(today: dt.date) -> ColumnElement[bool]:
    """Invitations whose link opens a form to answer on ``today``: the campaign takes
    answers, and the link was neither withdrawn, declined nor used for a submission."""
    return and_(
        accepting_condition(today),
        Invitation.withdrawn_at.is_(None),
        Invitation.declined_at.is_(None),
        (Response.status.is_(None)) | (Response.status != ResponseStatus.SUBMITTED),
    )


#: What a status filter may ask for: every status, and ``open`` (links that open a form).
STATUS_FILTERS = ("open", *(s.value for s in InvitationStatus))


def invitation_query(
    today: dt.date,
    *,
    campaign_id: int | None = None,
    institution_id: int | None = None,
    status: str | None = None,
    search: str | None = None,
) -> Select:
    """Invitations as rows ``(Invitation, employer, graduate, programme, status)``: the
    employer named as the inviting institution names it (its employer link), in id order.

    ``status`` is one of :data:`STATUS_FILTERS`; ``search`` looks in the graduate's and the
    employer link's searchable fields and the address.
    """
    status_ = status_expression(today).label("status")
    query = (
        select(
            Invitation,
            EmployerLink.name.label("employer"),
            Graduate.full_name.label("graduate"),
            Programme.code.label("programme"),
            status_,
        )
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .outerjoin(
            EmployerLink,
            (EmployerLink.employer_id == Invitation.employer_id)
            & (EmployerLink.institution_id == Campaign.institution_id),
        )
        .join(Graduate, Graduate.id == Invitation.graduate_id)
        .join(Programme, Programme.id == Graduate.programme_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .order_by(Invitation.id)
    )
    if campaign_id is not None:
        query = query.where(Invitation.campaign_id == campaign_id)
    if institution_id is not None:
        query = query.where(Campaign.institution_id == institution_id)
    if status == "open":
        query = query.where(opens_form_condition(today))
    elif status is not None:
        query = query.where(status_expression(today) == InvitationStatus(status).value)
    condition = search_condition(
        search, Graduate.search_text, EmployerLink.search_text, func.lower(Invitation.email)
    )
    if condition is not None:
        query = query.where(condition)
    return query


def withdraw_invitation(session: Session, invitation: Invitation) -> Invitation:
    """Withdraw one link: it answers a polite "withdrawn" page from now on, gets no more
    e-mail and stops counting as invited. A submitted response cannot be withdrawn."""
    if invitation.withdrawn_at is not None:
        raise CampaignError(_("this link was already withdrawn"))
    if _submitted(session, invitation):
        raise CampaignError(_("the employer has submitted: a received answer is not withdrawn"))
    invitation.withdrawn_at = utcnow()
    session.flush()
    data_changed(session, invitation.campaign.institution_id)
    record_event(
        session,
        "invitations.withdraw",
        obj=invitation,
        institution_id=invitation.campaign.institution_id,
        details={"campaign": invitation.campaign_id},
    )
    return invitation


def reissue_invitation(session: Session, invitation: Invitation, *, secret_key: str) -> str:
    """Give the invitation a new link (the old one dies at once) and queue it to be mailed
    again: it counts as not sent until the next send. A withdrawn link comes back to life;
    a draft the employer saved stays with the new link. Returns the new token."""
    if _submitted(session, invitation):
        raise CampaignError(_("the employer has submitted: there is nothing to answer any more"))
    token = assign_token(invitation, secret_key)
    invitation.issue += 1
    invitation.withdrawn_at = None
    invitation.declined_at = None
    invitation.failed_at = None
    invitation.sent_at = None
    invitation.opened_at = None
    invitation.last_reminded_at = None
    invitation.reminder_count = 0
    session.flush()
    data_changed(session, invitation.campaign.institution_id)
    record_event(
        session,
        "invitations.reissue",
        obj=invitation,
        institution_id=invitation.campaign.institution_id,
        details={"campaign": invitation.campaign_id, "issue": invitation.issue},
    )
    return token


def decline_invitation(session: Session, invitation: Invitation) -> Invitation:
    """The employer declines to answer: no more reminders; the link says so from now on."""
    if invitation.declined_at is None:
        invitation.declined_at = utcnow()
        session.flush()
        record_event(
            session,
            "invitations.decline",
            obj=invitation,
            institution_id=invitation.campaign.institution_id,
            details={"campaign": invitation.campaign_id},
            actor="employer link",
        )
    return invitation


def _submitted(session: Session, invitation: Invitation) -> bool:
    return (
        session.scalar(select(Response.status).where(Response.invitation_id == invitation.id))
        == ResponseStatus.SUBMITTED
    )


def in_cohort_join(campaign: Campaign) -> ColumnElement[bool]:
    """Join condition of ``campaign_programmes`` for graduates of one of the campaign's
    programmes (with :func:`in_cohort_conditions`: the cohort a campaign asks about)."""
    return (campaign_programmes.c.programme_id == Graduate.programme_id) & (
        campaign_programmes.c.campaign_id == campaign.id
    )


def in_cohort_conditions(campaign: Campaign) -> tuple[ColumnElement[bool], ...]:
    """Graduates of the campaign's graduation year and institution."""
    return (
        Graduate.graduation_year == campaign.year,
        Graduate.institution_id == campaign.institution_id,
    )


def employed_during(campaign: Campaign) -> ColumnElement[bool]:
    """Employment records that overlap the campaign's period (``opens_on``–``closes_on``):
    the employers who employ the graduate while the campaign asks them about it. A job that
    ended before the campaign opens, or starts after it closes, invites nobody."""
    return (EmploymentRecord.start_date <= campaign.closes_on) & (
        EmploymentRecord.end_date.is_(None) | (EmploymentRecord.end_date >= campaign.opens_on)
    )


def nobody_invited(session: Session, campaign: Campaign) -> str:
    """Why a campaign has no invitation, and what would give it some (for a refusal)."""
    cohort = f"{', '.join(sorted(p.code for p in campaign.programmes))} ({campaign.year})"
    graduates = session.scalar(
        select(func.count(Graduate.id))
        .join(campaign_programmes, in_cohort_join(campaign))
        .where(*in_cohort_conditions(campaign))
    )
    if not graduates:
        return _(
            "the registry has no graduate of %(cohort)s; import the graduates and their "
            "employment records first",
            cohort=cohort,
        )
    employed = session.scalar(
        select(func.count(func.distinct(EmploymentRecord.graduate_id)))
        .join(Graduate, Graduate.id == EmploymentRecord.graduate_id)
        .join(campaign_programmes, in_cohort_join(campaign))
        .where(*in_cohort_conditions(campaign), employed_during(campaign))
    )
    if not employed:
        return _(
            "none of the %(count)s graduate(s) of %(cohort)s has an employment record that "
            "overlaps the campaign's period (%(opens)s – %(closes)s), so no employer can be "
            "asked about them; import the employment records, or add employer-graduate pairs "
            "by hand",
            count=graduates,
            cohort=cohort,
            opens=format_date(campaign.opens_on),
            closes=format_date(campaign.closes_on),
        )
    return _(
        "every employer-graduate pair of %(cohort)s was left out or withdrawn; add pairs "
        "before opening it",
        cohort=cohort,
    )


def create_invitations(
    session: Session, campaign: Campaign, *, secret_key: str, language: str | None = None
) -> list[Invitation]:
    """Invite each employer to assess each graduate of the campaign it employs.

    Pairs come from employment records of graduates of the campaign's programmes and
    graduation year that overlap the campaign's period (:func:`employed_during`).
    Idempotent: pairs already invited are skipped, so re-running after an import adds only
    the new ones. Returns the invitations created now. Each is addressed to
    the contact e-mail the campaign's institution keeps for the employer (its own link; never
    another institution's), in ``language`` (default Uzbek), with a fresh token.
    """
    language = language or DEFAULT_LANGUAGE
    if language not in INVITATION_LANGUAGES:
        raise CampaignError(
            f"language must be one of {', '.join(INVITATION_LANGUAGES)}, got {language!r}"
        )
    pairs = session.execute(
        select(
            EmploymentRecord.employer_id, EmploymentRecord.graduate_id, EmployerLink.contact_email
        )
        .join(Graduate, Graduate.id == EmploymentRecord.graduate_id)
        .outerjoin(
            EmployerLink,
            (EmployerLink.employer_id == EmploymentRecord.employer_id)
            & (EmployerLink.institution_id == campaign.institution_id),
        )
        .join(campaign_programmes, in_cohort_join(campaign))
        .where(*in_cohort_conditions(campaign), employed_during(campaign))
        .distinct()
        .order_by(EmploymentRecord.employer_id, EmploymentRecord.graduate_id)
    ).all()
    existing = set(
        session.execute(
            select(Invitation.employer_id, Invitation.graduate_id).where(
                Invitation.campaign_id == campaign.id
            )
        ).all()
    )
    new_pairs = [(e, g, email) for e, g, email in pairs if (e, g) not in existing]
    if not new_pairs:
        return []
    invitations = []
    for employer_id, graduate_id, email in new_pairs:
        invitation = Invitation(
            campaign_id=campaign.id,
            employer_id=employer_id,
            graduate_id=graduate_id,
            email=email,
            language=language,
        )
        assign_token(invitation, secret_key)
        invitations.append(invitation)
    session.add_all(invitations)
    session.flush()
    data_changed(session, campaign.institution_id)  # the response rate's denominator
    record_event(
        session,
        "campaigns.create_invitations",
        obj=campaign,
        details={
            "created": len(invitations),
            "already_invited": len(existing),
            "language": language,
            "without_email": sum(1 for i in invitations if not i.email),
        },
    )
    return invitations
