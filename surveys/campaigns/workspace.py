"""What the staff's campaign pages read and change: lists, counts, pairs, uploads, letters.

Services take a session and plain values, flush and never commit (the request does).
Every invitation's status comes from :func:`surveys.campaigns.services.status_expression`;
the submissions per day from :mod:`surveys.dashboard.campaign_rates`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from surveys.audit.services import record_event
from surveys.campaigns.models import (
    Campaign,
    CampaignStatus,
    Invitation,
    InvitationStatus,
    campaign_programmes,
)
from surveys.campaigns.services import (
    CampaignError,
    campaign_counts,
    in_cohort_conditions,
    in_cohort_join,
    invitation_query,
    status_expression,
)
from surveys.campaigns.tokens import assign_token
from surveys.datachanges import data_changed
from surveys.instruments.models import Instrument, InstrumentVersion
from surveys.registry.models import (
    Employer,
    EmployerLink,
    Graduate,
    Institution,
    Programme,
)
from surveys.registry.reading import FileProblem, read_table
from surveys.responses.models import Response, ResponseStatus

#: Invitations per page of the campaign page's list.
PER_PAGE = 50
#: Rows an upload of extra pairs may have.
MAX_UPLOAD_ROWS = 20000


def campaigns_of(session: Session, institution_id: int | None) -> list[tuple[Campaign, dict]]:
    """The campaigns of an institution (None: all), newest first, with their counts."""
    query = select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc())
    if institution_id is not None:
        query = query.where(Campaign.institution_id == institution_id)
    campaigns = list(session.scalars(query))
    counts = campaign_counts(session, [c.id for c in campaigns])
    return [(c, counts.get(c.id, {"invited": 0, "sent": 0, "submitted": 0})) for c in campaigns]


def form_choices(
    session: Session, institution_id: int, language: str
) -> dict[str, list[tuple[int, str]]]:
    """Instrument versions (every institution may use them) and the institution's programmes,
    named in ``language`` where they have a name in it."""
    from surveys.instruments.definitions import text

    versions = session.execute(
        select(
            InstrumentVersion.id,
            InstrumentVersion.version,
            InstrumentVersion.definition,
            Instrument.name,
        )
        .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
        .order_by(Instrument.name, InstrumentVersion.version.desc())
    ).all()
    programmes = session.scalars(
        select(Programme).where(Programme.institution_id == institution_id).order_by(Programme.code)
    )
    return {
        "versions": [
            (vid, f"{text(definition.get('title'), language) or name} v{number}")
            for vid, number, definition, name in versions
        ],
        "programmes": [(p.id, f"{p.code} \u2014 {p.name_in(language)}") for p in programmes],
    }


def institution_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (i.id, f"{i.code} \u2014 {i.name}")
        for i in session.scalars(select(Institution).order_by(Institution.code))
    ]


# --- the campaign page -------------------------------------------------------------------


@dataclasses.dataclass
class InvitationPage:
    rows: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def invitation_page(
    session: Session,
    campaign: Campaign,
    today: dt.date,
    *,
    status: str | None,
    search: str | None,
    page: int,
    per_page: int | None = None,
) -> InvitationPage:
    """One page of the campaign's invitations, filtered and searched in the database."""
    per_page = per_page or PER_PAGE
    query = invitation_query(today, campaign_id=campaign.id, status=status, search=search)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return InvitationPage(rows, total or 0, page, per_page)


def campaign_numbers(
    session: Session, campaign: Campaign, today: dt.date
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The campaign page's numbers (see :func:`summary`): overall, and per programme code."""
    status_ = status_expression(today)
    rows = session.execute(
        select(Programme.code, status_, func.count(Invitation.id), func.count(Invitation.sent_at))
        .select_from(Invitation)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .join(Graduate, Graduate.id == Invitation.graduate_id)
        .join(Programme, Programme.id == Graduate.programme_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.campaign_id == campaign.id)
        .group_by(Programme.code, status_)
    ).all()
    empty = {s.value: 0 for s in InvitationStatus}
    overall, overall_sent = dict(empty), 0
    by_programme: dict[str, dict[str, int]] = defaultdict(lambda: dict(empty))
    sent: dict[str, int] = defaultdict(int)
    for code, status, count, mailed in rows:
        by_programme[code][status] = count
        overall[status] += count
        if status != InvitationStatus.WITHDRAWN:
            sent[code] += mailed
            overall_sent += mailed
    return summary(overall, overall_sent), [
        (code, summary(counts, sent[code])) for code, counts in sorted(by_programme.items())
    ]


def summary(counts: dict[str, int], sent: int) -> dict[str, Any]:
    """Headline numbers from counts per status and the number of links e-mailed.

    Invited: every link not withdrawn; sent: the mail server accepted its e-mail (a link
    handed over on a printed letter and answered was opened, not sent); opened: the
    employer opened the form at least once (draft and submitted included); rate:
    submitted/invited.
    """
    invited = sum(n for status, n in counts.items() if status != InvitationStatus.WITHDRAWN)
    opened = counts["opened"] + counts["draft"] + counts["submitted"]
    return {
        "invited": invited,
        "sent": sent,
        "opened": opened,
        "draft": counts["draft"],
        "submitted": counts["submitted"],
        "failed": counts["failed"],
        "declined": counts["declined"],
        "rate": counts["submitted"] / invited if invited else None,
    }


def export_rows(session: Session, campaign: Campaign, today: dt.date, status: str | None):
    """Every invitation of the campaign (filtered like the page) for an export."""
    return session.execute(invitation_query(today, campaign_id=campaign.id, status=status)).all()


def letters(session: Session, campaign: Campaign, today: dt.date) -> list[dict[str, Any]]:
    """One letter per employer: its name as the institution keeps it, and the graduates whose
    links open a form today (withdrawn, declined and submitted ones are left out)."""
    rows = session.execute(invitation_query(today, campaign_id=campaign.id, status="open")).all()
    by_employer: dict[int, dict[str, Any]] = {}
    for invitation, employer, graduate, programme, _status in rows:
        letter = by_employer.setdefault(
            invitation.employer_id,
            {"employer": employer, "email": invitation.email, "invitations": []},
        )
        letter["invitations"].append(
            {"invitation": invitation, "graduate": graduate, "programme": programme}
        )
    return sorted(by_employer.values(), key=lambda letter: letter["employer"] or "")


# --- pairs of a draft campaign -----------------------------------------------------------


def no_contact(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Graduates of the campaign's cohort nobody can be asked about by e-mail: no employment
    record, or an employer the institution has no e-mail address for."""
    graduates = session.execute(
        select(Graduate.id, Graduate.full_name, Programme.code)
        .join(Programme, Programme.id == Graduate.programme_id)
        .join(campaign_programmes, in_cohort_join(campaign))
        .where(*in_cohort_conditions(campaign))
        .order_by(Graduate.full_name)
    ).all()
    invited = defaultdict(list)
    for graduate_id, email in session.execute(
        select(Invitation.graduate_id, Invitation.email).where(
            Invitation.campaign_id == campaign.id, Invitation.withdrawn_at.is_(None)
        )
    ):
        invited[graduate_id].append(email)
    result = []
    for graduate_id, name, programme in graduates:
        emails = invited.get(graduate_id)
        if not emails:
            result.append({"graduate": name, "programme": programme, "reason": "no_employer"})
        elif not any(emails):
            result.append({"graduate": name, "programme": programme, "reason": "no_email"})
    return result


def pair_choices(session: Session, campaign: Campaign) -> dict[str, list[tuple[int, str]]]:
    """The graduates of the campaign's cohort and the employers the institution keeps."""
    graduates = session.execute(
        select(Graduate.id, Graduate.full_name, Graduate.student_number)
        .join(campaign_programmes, in_cohort_join(campaign))
        .where(*in_cohort_conditions(campaign))
        .order_by(Graduate.full_name)
    ).all()
    employers = session.execute(
        select(EmployerLink.employer_id, EmployerLink.name)
        .where(EmployerLink.institution_id == campaign.institution_id)
        .order_by(EmployerLink.name)
    ).all()
    return {
        "graduates": [
            (gid, f"{name} ({number})" if number else name) for gid, name, number in graduates
        ],
        "employers": [(eid, name) for eid, name in employers],
    }


def _check_draft(campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignError(
            _(
                "pairs are chosen while the campaign is a draft; withdraw a link of an "
                "opened campaign instead"
            )
        )


def _checked_pair(
    session: Session,
    campaign: Campaign,
    graduate_id: int,
    employer_id: int,
    where: str = "",
) -> EmployerLink:
    """The employer link of a pair that may be added; :class:`CampaignError` otherwise."""
    graduate = session.get(Graduate, graduate_id)
    programme_ids = {p.id for p in campaign.programmes}
    if (
        graduate is None
        or graduate.institution_id != campaign.institution_id
        or graduate.programme_id not in programme_ids
        or graduate.graduation_year != campaign.year
    ):
        raise CampaignError(where + _("the graduate is not of this campaign's programmes and year"))
    link = session.scalar(
        select(EmployerLink).where(
            EmployerLink.institution_id == campaign.institution_id,
            EmployerLink.employer_id == employer_id,
        )
    )
    if link is None:
        raise CampaignError(where + _("the employer is not in your institution's registry"))
    exists = session.scalar(
        select(Invitation.id).where(
            Invitation.campaign_id == campaign.id,
            Invitation.employer_id == employer_id,
            Invitation.graduate_id == graduate_id,
        )
    )
    if exists:
        raise CampaignError(
            where
            + _(
                "%(employer)s is already invited to assess %(graduate)s",
                employer=link.name,
                graduate=graduate.full_name,
            )
        )
    return link


def _insert_pair(
    session: Session, campaign: Campaign, graduate_id: int, link: EmployerLink, secret_key: str
) -> Invitation:
    invitation = Invitation(
        campaign_id=campaign.id,
        employer_id=link.employer_id,
        graduate_id=graduate_id,
        email=link.contact_email,
        language=campaign.language,
    )
    assign_token(invitation, secret_key)
    session.add(invitation)
    return invitation


def add_pair(
    session: Session,
    campaign: Campaign,
    *,
    graduate_id: int,
    employer_id: int,
    secret_key: str,
) -> Invitation:
    """Invite one more (employer, graduate) pair into a draft campaign, by hand: the graduate
    must be of the campaign's cohort, the employer one the institution keeps."""
    _check_draft(campaign)
    link = _checked_pair(session, campaign, graduate_id, employer_id)
    invitation = _insert_pair(session, campaign, graduate_id, link, secret_key)
    session.flush()
    data_changed(session, campaign.institution_id)
    record_event(
        session,
        "campaigns.add_pair",
        obj=campaign,
        details={"employer": employer_id, "graduate": graduate_id},
    )
    return invitation


def exclude_pair(session: Session, campaign: Campaign, invitation: Invitation) -> None:
    """Leave a pair out of a draft campaign (its link was never sent: it is deleted)."""
    _check_draft(campaign)
    if invitation.campaign_id != campaign.id:
        raise CampaignError("this invitation is of another campaign")
    session.execute(delete(Invitation).where(Invitation.id == invitation.id))
    session.flush()
    record_event(
        session,
        "campaigns.exclude_pair",
        obj=campaign,
        details={"employer": invitation.employer_id, "graduate": invitation.graduate_id},
    )
    data_changed(session, campaign.institution_id)


@dataclasses.dataclass
class UploadResult:
    added: int
    errors: list[str]


def _column(header: list[str], *names: str) -> int | None:
    folded = [str(h or "").strip().lower() for h in header]
    for name in names:
        if name in folded:
            return folded.index(name)
    return None


def upload_pairs(
    session: Session, campaign: Campaign, data: bytes, filename: str, *, secret_key: str
) -> UploadResult:
    """Add the pairs of a CSV/XLSX file (columns ``student_number`` and ``tax_number``) to a
    draft campaign: all of them, or — if any row is wrong — none, with every row's error."""
    _check_draft(campaign)
    try:
        table = read_table(data, filename, "pairs")
    except FileProblem as exc:
        return UploadResult(0, [str(exc)])
    graduate_col = _column(table.header, "student_number", "graduate")
    employer_col = _column(table.header, "tax_number", "employer")
    if graduate_col is None or employer_col is None:
        return UploadResult(
            0,
            [
                _(
                    "%(file)s: the first row must name the columns student_number and "
                    "tax_number (the graduate's student number, the employer's tax number)",
                    file=filename,
                )
            ],
        )
    graduates = dict(
        session.execute(
            select(Graduate.student_number, Graduate.id).where(
                Graduate.institution_id == campaign.institution_id
            )
        ).all()
    )
    employers = dict(
        session.execute(
            select(Employer.tax_number, Employer.id)
            .join(EmployerLink, EmployerLink.employer_id == Employer.id)
            .where(EmployerLink.institution_id == campaign.institution_id)
        ).all()
    )
    errors: list[str] = []
    links: list[tuple[int, EmployerLink]] = []
    added = 0
    seen: set[tuple[int, int]] = set()
    try:
        for number, cells in table.rows():
            if number > MAX_UPLOAD_ROWS + 1:
                errors.append(
                    _("%(file)s: more than %(rows)s rows", file=filename, rows=MAX_UPLOAD_ROWS)
                )
                break
            student = str(cells[graduate_col] if graduate_col < len(cells) else "").strip()
            tax = str(cells[employer_col] if employer_col < len(cells) else "").strip()
            if student.endswith(".0"):
                student = student[:-2]  # a number cell of a workbook
            if tax.endswith(".0"):
                tax = tax[:-2]
            if student not in graduates:
                errors.append(
                    _(
                        "row %(number)s: no graduate with student number \u201c%(value)s\u201d",
                        number=number,
                        value=student,
                    )
                )
                continue
            if tax not in employers:
                errors.append(
                    _(
                        "row %(number)s: no employer with tax number \u201c%(value)s\u201d in "
                        "your registry",
                        number=number,
                        value=tax,
                    )
                )
                continue
            pair = (graduates[student], employers[tax])
            if pair in seen:
                errors.append(_("row %(number)s: the same pair as an earlier row", number=number))
                continue
            seen.add(pair)
            try:
                links.append(
                    (
                        pair[0],
                        _checked_pair(
                            session, campaign, *pair, _("row %(number)s: ", number=number)
                        ),
                    )
                )
            except CampaignError as exc:
                errors.append(str(exc))
    except FileProblem as exc:
        errors.append(str(exc))
    if not errors and not links:
        errors.append(_("%(file)s: no rows", file=filename))
    if errors:  # nothing was written: every row is checked before the first insert
        return UploadResult(0, errors)
    for graduate_id, link in links:
        _insert_pair(session, campaign, graduate_id, link, secret_key)
        added += 1
    session.flush()
    data_changed(session, campaign.institution_id)
    record_event(session, "campaigns.upload_pairs", obj=campaign, details={"added": added})
    return UploadResult(added, [])


def submitted_response(session: Session, invitation: Invitation) -> Response | None:
    """The invitation's submitted response (None while there is none)."""
    return session.scalar(
        select(Response).where(
            Response.invitation_id == invitation.id,
            Response.status == ResponseStatus.SUBMITTED,
        )
    )
