"""``hamkor campaigns`` and ``hamkor invitations``: create campaigns, list personal links."""

from __future__ import annotations

import datetime as dt
from typing import NoReturn

import click

from surveys.cli import FORMAT_OPTION, print_rows, with_app

#: What ``invitations list --status`` can filter on.
INVITATION_STATUSES = ("open", "draft", "submitted", "withdrawn")


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
    """List campaigns with their invitation and submission counts."""
    from sqlalchemy import func, select

    from surveys.campaigns.models import Campaign, Invitation
    from surveys.extensions import db
    from surveys.responses.models import Response, ResponseStatus

    session = db.session
    invited = dict(
        session.execute(
            select(Invitation.campaign_id, func.count()).group_by(Invitation.campaign_id)
        ).all()
    )
    submitted = dict(
        session.execute(
            select(Invitation.campaign_id, func.count())
            .join(Response, Response.invitation_id == Invitation.id)
            .where(Response.status == ResponseStatus.SUBMITTED)
            .group_by(Invitation.campaign_id)
        ).all()
    )
    rows = []
    for campaign in session.scalars(select(Campaign).order_by(Campaign.id)):
        version = campaign.instrument_version
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
                "invitations": invited.get(campaign.id, 0),
                "submitted": submitted.get(campaign.id, 0),
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
        "invitations",
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
) -> None:
    """Create a campaign and one invitation per (employer, employed graduate) pair."""
    from flask import current_app
    from sqlalchemy import select

    from surveys.campaigns.models import CampaignStatus
    from surveys.campaigns.services import CampaignError, create_campaign, create_invitations
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
            status=CampaignStatus.DRAFT if draft else CampaignStatus.OPEN,
        )
        invitations = create_invitations(
            session, campaign, secret_key=current_app.config["SECRET_KEY"], language=language
        )
    except CampaignError as exc:
        _fail(str(exc))
    session.commit()
    click.echo(
        f"Campaign {campaign.id} ({campaign.name}) created with {len(invitations)} "
        f"invitation(s). Links: hamkor invitations list --campaign {campaign.id}"
    )
    if not invitations:
        click.echo(
            f"Warning: no graduate of {', '.join(programme_codes)} ({year}) has an employment "
            "record, so nobody was invited; import employment records, then run: "
            f"hamkor campaigns invite {campaign.id}",
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


@click.group("invitations")
def invitations() -> None:
    """Personal invitation links of employers."""


def invitation_rows(
    session, *, secret_key: str, base_url: str, campaign_id: int | None = None
) -> list[dict]:
    """Every invitation (of one campaign, or all) with its status and full personal link."""
    from sqlalchemy import select

    from surveys.campaigns.models import Campaign, Invitation
    from surveys.campaigns.tokens import invitation_link
    from surveys.registry.models import EmployerLink, Graduate
    from surveys.responses.models import Response

    # the employer under the name the inviting institution uses for it
    query = (
        select(Invitation, EmployerLink.name, Graduate.full_name, Response.status)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .outerjoin(
            EmployerLink,
            (EmployerLink.employer_id == Invitation.employer_id)
            & (EmployerLink.institution_id == Campaign.institution_id),
        )
        .join(Graduate, Graduate.id == Invitation.graduate_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .order_by(Invitation.id)
    )
    if campaign_id is not None:
        query = query.where(Invitation.campaign_id == campaign_id)
    rows = []
    for invitation, employer, graduate, response_status in session.execute(query):
        if invitation.withdrawn_at is not None:
            status = "withdrawn"
        elif response_status is None:
            status = "open"
        else:
            status = response_status.value
        rows.append(
            {
                "id": invitation.id,
                "campaign": invitation.campaign_id,
                "employer": employer,
                "graduate": graduate,
                "status": status,
                "email": invitation.email,
                "language": invitation.language,
                "sent_at": (
                    invitation.sent_at.isoformat(timespec="seconds") if invitation.sent_at else None
                ),
                "link": invitation_link(invitation, secret_key, base_url),
            }
        )
    return rows


@invitations.command("list")
@click.option("--campaign", "campaign_id", type=int, help="Only this campaign's invitations.")
@click.option("--status", type=click.Choice(INVITATION_STATUSES), help="Only this status.")
@FORMAT_OPTION
@with_app
def list_invitations(campaign_id: int | None, status: str | None, fmt: str) -> None:
    """List invitations with their status and personal link.

    Status: open (not started), draft (saved, not submitted), submitted, withdrawn.
    The links open the employer's form: treat this output as confidential.
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
        campaign_id=campaign_id,
    )
    if status is not None:
        rows = [row for row in rows if row["status"] == status]
    columns = ["id", "campaign", "employer", "graduate", "status", "email", "language", "sent_at"]
    columns.append("link")
    print_rows(rows, columns, fmt)


commands: list[click.Command] = [campaigns, invitations]
