"""``hamkor campaigns`` and ``hamkor invitations``: create campaigns, list personal links."""

from __future__ import annotations

import datetime as dt
from typing import NoReturn

import click

from surveys.cli import FORMAT_OPTION, print_rows, with_app

#: What ``invitations list --status`` can filter on (see ``services.STATUS_FILTERS``).
INVITATION_STATUSES = (
    "open",
    "not_sent",
    "sent",
    "opened",
    "draft",
    "submitted",
    "declined",
    "withdrawn",
    "expired",
    "failed",
)


def _fail(message: str) -> NoReturn:
    """Report a user error on stderr and exit with status 2 (nothing was written)."""
    from surveys.extensions import db

    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(2)


@click.group("campaigns")
def campaigns() -> None:
    """Survey campaigns: an instrument version × institution × programmes × cohort year."""


@campaigns.command("list")
@FORMAT_OPTION
@with_app
def list_campaigns(fmt: str) -> None:
    """List campaigns with their invited, sent and submitted counts.

    Invited counts the links that were not withdrawn; sent those the mail server accepted.
    """
    from sqlalchemy import select

    from surveys.campaigns.models import Campaign
    from surveys.campaigns.services import campaign_counts
    from surveys.extensions import db

    session = db.session
    counts = campaign_counts(session)
    rows = []
    for campaign in session.scalars(select(Campaign).order_by(Campaign.id)):
        version = campaign.instrument_version
        numbers = counts.get(campaign.id, {})
        rows.append(
            {
                "id": campaign.id,
                "institution": campaign.institution.code,
                "name": campaign.name,
                "instrument": version.instrument.key,
                "version": version.version,
                "year": campaign.year,
                "programmes": " ".join(sorted(p.code for p in campaign.programmes)),
                "opens_on": campaign.opens_on.isoformat(),
                "closes_on": campaign.closes_on.isoformat(),
                "status": campaign.status.value,
                "language": campaign.language,
                "reminder_days": campaign.reminder_days,
                "invited": numbers.get("invited", 0),
                "sent": numbers.get("sent", 0),
                "submitted": numbers.get("submitted", 0),
            }
        )
    columns = [
        "id",
        "institution",
        "name",
        "instrument",
        "version",
        "year",
        "programmes",
        "opens_on",
        "closes_on",
        "status",
        "invited",
        "sent",
        "submitted",
    ]
    print_rows(rows, columns, fmt)


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@campaigns.command("create")
@click.option("--institution", "institution_code", required=True, help="Institution code.")
@click.option("--instrument", "instrument_key", required=True, help="Instrument key.")
@click.option("--version", "version_number", type=int, help="Instrument version (default: newest).")
@click.option("--year", type=int, required=True, help="Graduation year of the cohort assessed.")
@click.option(
    "--programme",
    "programme_codes",
    multiple=True,
    required=True,
    help="Programme code (repeat for several programmes).",
)
@click.option("--opens", required=True, help="First day links open (YYYY-MM-DD).")
@click.option("--closes", required=True, help="Last day answers are accepted (YYYY-MM-DD).")
@click.option("--name", default=None, help="Campaign name (default: instrument title and year).")
@click.option(
    "--language",
    type=click.Choice(["uz", "ru", "en"]),
    default="uz",
    show_default=True,
    help="Language of the invitations.",
)
@click.option(
    "--draft", is_flag=True, help="Create the campaign as a draft (links do not open yet)."
)
@click.option(
    "--remind",
    "reminder_days",
    type=click.IntRange(1, 365),
    multiple=True,
    help="Send a reminder this many days after the invitation (repeat: --remind 7 --remind 14).",
)
@click.option("--contact", "contact_email", help="E-mail address employers may write to.")
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="Create it even if a draft or open campaign covers the same instrument, "
    "programme and year.",
)
@with_app
def create(
    institution_code: str,
    instrument_key: str,
    version_number: int | None,
    year: int,
    programme_codes: tuple[str, ...],
    opens: str,
    closes: str,
    name: str | None,
    language: str,
    draft: bool,
    reminder_days: tuple[int, ...],
    contact_email: str | None,
    allow_duplicate: bool,
) -> None:
    """Create a campaign and one invitation per (employer, employed graduate) pair."""
    from flask import current_app
    from sqlalchemy import select

    from surveys.campaigns.models import CampaignStatus
    from surveys.campaigns.services import (
        CampaignError,
        DuplicateCampaign,
        change_status,
        create_campaign,
        create_invitations,
        nobody_invited,
    )
    from surveys.extensions import db
    from surveys.instruments.services import get_version
    from surveys.registry.models import Programme
    from surveys.registry.services import institution_by_code

    opens_on, closes_on = _date(opens, "--opens"), _date(closes, "--closes")
    session = db.session
    institution = institution_by_code(session, institution_code)
    if institution is None:
        _fail(f"no institution with code {institution_code!r}")
    version = get_version(session, instrument_key, version_number)
    if version is None:
        which = f"version {version_number} of " if version_number is not None else ""
        _fail(
            f"no {which}instrument {instrument_key!r} "
            "(load one with: hamkor instruments load --builtin)"
        )
    programmes = {
        p.code: p
        for p in session.scalars(
            select(Programme).where(
                Programme.institution_id == institution.id, Programme.code.in_(programme_codes)
            )
        )
    }
    unknown = [code for code in programme_codes if code not in programmes]
    if unknown:
        _fail(f"institution {institution.code} has no programme {', '.join(unknown)}")
    try:
        campaign = create_campaign(
            session,
            institution_id=institution.id,
            instrument_version_id=version.id,
            year=year,
            programme_ids=[programmes[c].id for c in programme_codes],
            name=name,
            opens_on=opens_on,
            closes_on=closes_on,
            status=CampaignStatus.DRAFT,  # opened below, once it has its invitations
            language=language,
            reminder_days=reminder_days,
            contact_email=contact_email,
            allow_duplicate=allow_duplicate,
        )
        invitations = create_invitations(
            session, campaign, secret_key=current_app.config["SECRET_KEY"], language=language
        )
        if not draft:  # refused, and nothing created, when it would invite nobody
            change_status(session, campaign, CampaignStatus.OPEN, allow_duplicate=allow_duplicate)
    except DuplicateCampaign as exc:
        _fail(f"{exc} (or run again with --allow-duplicate)")
    except CampaignError as exc:
        _fail(str(exc))
    session.commit()
    click.echo(
        f"Campaign {campaign.id} ({campaign.name}) created with {len(invitations)} "
        f"invitation(s). Links: hamkor invitations list --campaign {campaign.id}"
    )
    if not invitations:  # a draft: staff add pairs before opening it
        click.echo(
            f"Warning: the draft invites nobody yet: {nobody_invited(session, campaign)}; "
            f"then run: hamkor campaigns invite {campaign.id}",
            err=True,
        )
    without_email = sum(1 for invitation in invitations if not invitation.email)
    if without_email:
        click.echo(
            f"Warning: {without_email} invitation(s) have no e-mail address (the employer has "
            "no contact e-mail); send those links another way.",
            err=True,
        )


@campaigns.command("invite")
@click.argument("campaign_id", type=int)
@click.option(
    "--language",
    type=click.Choice(["uz", "ru", "en"]),
    default="uz",
    show_default=True,
    help="Language of the new invitations.",
)
@with_app
def invite(campaign_id: int, language: str) -> None:
    """Add the invitations a campaign is missing (e.g. after importing employment records).

    Pairs already invited are left alone, so this is safe to run again.
    """
    from flask import current_app

    from surveys.campaigns.models import Campaign
    from surveys.campaigns.services import CampaignError, create_invitations
    from surveys.extensions import db

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        _fail(f"no campaign with id {campaign_id} (see: hamkor campaigns list)")
    try:
        created = create_invitations(
            db.session, campaign, secret_key=current_app.config["SECRET_KEY"], language=language
        )
    except CampaignError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Campaign {campaign.id}: {len(created)} new invitation(s).")


@campaigns.command("status")
@click.argument("campaign_id", type=int)
@click.argument("state", type=click.Choice(["open", "closed", "archived"]))
@with_app
def set_status(campaign_id: int, state: str) -> None:
    """Open, close, reopen or archive a campaign (draft → open → closed → archived).

    Closing stops every link at once; reopening a closed campaign is audited.
    """
    from surveys.campaigns.models import Campaign, CampaignStatus
    from surveys.campaigns.services import CampaignError, change_status
    from surveys.extensions import db

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        _fail(f"no campaign with id {campaign_id} (see: hamkor campaigns list)")
    old = campaign.status.value
    try:
        change_status(db.session, campaign, CampaignStatus(state))
    except CampaignError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Campaign {campaign.id}: {old} \u2192 {state}.")


@click.group("invitations")
def invitations() -> None:
    """Personal invitation links of employers."""


def invitation_rows(
    session,
    *,
    secret_key: str,
    base_url: str,
    today: dt.date,
    campaign_id: int | None = None,
    status: str | None = None,
) -> list[dict]:
    """Invitations (of one campaign, or all) with their status on ``today`` and full link."""
    from surveys.campaigns.services import invitation_query
    from surveys.campaigns.tokens import invitation_link

    query = invitation_query(today, campaign_id=campaign_id, status=status)
    rows = []
    for invitation, employer, graduate, programme, status_ in session.execute(query):
        rows.append(
            {
                "id": invitation.id,
                "campaign": invitation.campaign_id,
                "employer": employer,
                "graduate": graduate,
                "programme": programme,
                "status": status_,
                "email": invitation.email,
                "language": invitation.language,
                "sent_at": (
                    invitation.sent_at.isoformat(timespec="seconds") if invitation.sent_at else None
                ),
                "link": invitation_link(invitation, secret_key, base_url),
            }
        )
    return rows


def _today() -> dt.date:
    from flask import current_app

    from surveys.campaigns.services import local_today

    return local_today(current_app.config["HAMKOR_TIMEZONE"])


@invitations.command("list")
@click.option("--campaign", "campaign_id", type=int, help="Only this campaign's invitations.")
@click.option(
    "--status",
    type=click.Choice(INVITATION_STATUSES),
    help="Only this status; 'open' = every link that opens a form today.",
)
@FORMAT_OPTION
@with_app
def list_invitations(campaign_id: int | None, status: str | None, fmt: str) -> None:
    """List invitations with their status and personal link.

    Status is what the link does today: not_sent, sent (the mail server accepted it),
    opened, draft (answers saved), submitted, declined, withdrawn, expired (the campaign
    closed before a submission) or failed (the address was refused). ``--status open``
    lists the links that open a form today, whatever their mail status. The links open the
    employer's form: treat this output as confidential.
    """
    from flask import current_app

    from surveys.campaigns.models import Campaign
    from surveys.extensions import db

    if campaign_id is not None and db.session.get(Campaign, campaign_id) is None:
        _fail(f"no campaign with id {campaign_id} (see: hamkor campaigns list)")
    rows = invitation_rows(
        db.session,
        secret_key=current_app.config["SECRET_KEY"],
        base_url=current_app.config["HAMKOR_BASE_URL"],
        today=_today(),
        campaign_id=campaign_id,
        status=status,
    )
    columns = ["id", "campaign", "employer", "graduate", "status", "email", "language", "sent_at"]
    columns.append("link")
    print_rows(rows, columns, fmt)


def _invitation(invitation_id: int):
    from surveys.campaigns.models import Invitation
    from surveys.extensions import db

    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        _fail(f"no invitation with id {invitation_id} (see: hamkor invitations list)")
    return invitation


@invitations.command("withdraw")
@click.argument("invitation_id", type=int)
@with_app
def withdraw(invitation_id: int) -> None:
    """Withdraw one link: the employer sees a "withdrawn" page and gets no more e-mail."""
    from surveys.campaigns.services import CampaignError, withdraw_invitation
    from surveys.extensions import db

    invitation = _invitation(invitation_id)
    try:
        withdraw_invitation(db.session, invitation)
    except CampaignError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Invitation {invitation_id} withdrawn: its link no longer opens the form.")


@invitations.command("reissue")
@click.argument("invitation_id", type=int)
@with_app
def reissue(invitation_id: int) -> None:
    """Give one invitation a new link (the old one dies); the next send mails it."""
    from flask import current_app

    from surveys.campaigns.services import CampaignError, reissue_invitation
    from surveys.campaigns.tokens import invitation_link
    from surveys.extensions import db

    invitation = _invitation(invitation_id)
    try:
        reissue_invitation(db.session, invitation, secret_key=current_app.config["SECRET_KEY"])
    except CampaignError as exc:
        _fail(str(exc))
    db.session.commit()
    link = invitation_link(
        invitation, current_app.config["SECRET_KEY"], current_app.config["HAMKOR_BASE_URL"]
    )
    click.echo(
        f"Invitation {invitation_id} re-issued; the old link is dead. New link: {link}\n"
        f"Send it with: hamkor invitations send --campaign {invitation.campaign_id}"
    )


def _deliver(campaign_id: int, mode: str) -> None:
    from flask import current_app

    from surveys.campaigns.delivery import DeliveryError, deliver
    from surveys.extensions import db

    try:
        result = deliver(db.engine, campaign_id, mode, config=current_app.config)
    except DeliveryError as exc:
        _fail(str(exc))
    what = "invitation(s)" if mode == "invite" else "reminder(s)"
    click.echo(
        f"Campaign {campaign_id}: {result.sent} {what} sent, {result.failed} refused, "
        f"{result.retry_later} to retry later."
    )
    if result.unreachable:
        click.echo(
            f"Error: the mail server is unreachable ({result.unreachable}); run this again "
            "later: nothing already sent goes twice.",
            err=True,
        )
        raise SystemExit(1)


@invitations.command("send")
@click.option("--campaign", "campaign_id", type=int, required=True, help="Campaign id.")
@with_app
def send(campaign_id: int) -> None:
    """E-mail the invitations of a campaign that have not gone out yet.

    Safe to run again (e.g. from cron): each message goes once; refused addresses are
    recorded (see the campaign page), temporary failures are retried by later runs.
    """
    _deliver(campaign_id, "invite")


@invitations.command("remind")
@click.option("--campaign", "campaign_id", type=int, required=True, help="Campaign id.")
@with_app
def remind(campaign_id: int) -> None:
    """E-mail the reminders that are due under the campaign's schedule.

    No reminder goes to an employer who submitted or declined, or whose link was
    withdrawn; each step of the schedule goes once. Safe to run daily from cron.
    """
    _deliver(campaign_id, "remind")


commands: list[click.Command] = [campaigns, invitations]
