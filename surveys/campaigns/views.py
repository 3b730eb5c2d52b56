"""The staff's campaign workspace: list, settings, pairs, the campaign page, its invitations,
exports, letters, e-mail batches and the read-only view of a submitted form.

Staff see and change their institution's campaigns only (another's: 403); admins all.
Committees never open these pages (they read aggregated indicators, never a form).
"""

from __future__ import annotations

import csv
import io
import re

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook

from surveys.auth.access import institution_scope, roles_required
from surveys.auth.models import Role
from surveys.campaigns import services, workspace
from surveys.campaigns.delivery import delivery_failures
from surveys.campaigns.forms import (
    ButtonForm,
    CampaignForm,
    PairForm,
    UploadForm,
    parse_days,
)
from surveys.campaigns.forms import choices as select_choices
from surveys.campaigns.jobs import SEND_JOB
from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
from surveys.campaigns.tokens import invitation_link
from surveys.charts import figures
from surveys.dashboard.campaign_rates import submissions_per_day
from surveys.extensions import db
from surveys.jobs.services import submit_job
from surveys.spreadsheets import neutralise_formula
from surveys.web import id_arg, no_store, page_arg, text_arg

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

STAFF = (Role.STAFF, Role.ADMIN)

#: Names of the campaign states and invitation statuses, in the reader's language.
CAMPAIGN_STATES = {
    "draft": _l("draft"),
    "open": _l("open"),
    "closed": _l("closed"),
    "archived": _l("archived"),
}
INVITATION_STATUSES = {
    "not_sent": _l("not sent"),
    "sent": _l("sent"),
    "opened": _l("opened"),
    "draft": _l("answers saved"),
    "submitted": _l("submitted"),
    "declined": _l("declined"),
    "withdrawn": _l("withdrawn"),
    "expired": _l("expired"),
    "failed": _l("address refused"),
}
#: The filter's choices: every status, and the links that open a form today.
STATUS_FILTERS = {"open": _l("open a form today"), **INVITATION_STATUSES}
#: What a button may move a campaign to, with its label.
STATE_BUTTONS = {
    "open": _l("Open the campaign"),
    "closed": _l("Close the campaign"),
    "archived": _l("Archive"),
}


@bp.context_processor
def names():
    return {
        "campaign_states": CAMPAIGN_STATES,
        "invitation_statuses": INVITATION_STATUSES,
        "status_filters": STATUS_FILTERS,
    }


def _language() -> str:
    return str(get_locale())


def _today():
    return services.local_today(current_app.config["HAMKOR_TIMEZONE"])


def _campaign(campaign_id: int) -> Campaign:
    """The campaign, if the user may act on it (staff: their institution's; 403 otherwise)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    institution_scope(campaign.institution_id)
    return campaign


def _invitation(invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        abort(404)
    institution_scope(invitation.campaign.institution_id)
    return invitation


def _refused(exc: services.CampaignError) -> None:
    flash(exc.message, "error")


# --- list and settings --------------------------------------------------------------------


@bp.route("/")
@roles_required(*STAFF)
def index():
    """The campaigns of the institution (admins: of all) with status and response rate."""
    institution_id = institution_scope(id_arg("institution"))
    rows = workspace.campaigns_of(db.session, institution_id)
    new_args = {}
    if g.user.role == Role.ADMIN:
        new_args = {"institution": institution_id} if institution_id else {}
    return render_template(
        "campaigns/index.html",
        rows=rows,
        institution_id=institution_id,
        institutions=workspace.institution_choices(db.session) if g.user.role == Role.ADMIN else [],
        new_args=new_args,
    )


def _fill_choices(form: CampaignForm, institution_id: int) -> None:
    choices = workspace.form_choices(db.session, institution_id, _language())
    form.instrument_version.choices = select_choices(choices["versions"])
    form.programmes.choices = select_choices(choices["programmes"])


def _texts(form: CampaignForm) -> dict[str, str]:
    return {"uz": form.text_uz.data, "ru": form.text_ru.data, "en": form.text_en.data}


def _apply_error(form: CampaignForm, exc: services.CampaignError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new():
    """Create a campaign as a draft; its pairs come from the employment records."""
    institution_id = institution_scope(id_arg("institution"))
    if institution_id is None:  # an admin chooses the institution first
        return render_template(
            "campaigns/choose_institution.html",
            institutions=workspace.institution_choices(db.session),
        )
    form = CampaignForm()
    _fill_choices(form, institution_id)
    if request.method == "GET":
        form.language.data = _language() if _language() in ("uz", "ru", "en") else "uz"
    if form.validate_on_submit():
        try:
            campaign = services.create_campaign(
                db.session,
                institution_id=institution_id,
                instrument_version_id=form.instrument_version.data,
                year=form.year.data,
                programme_ids=form.programmes.data,
                name=form.name.data,
                opens_on=form.opens_on.data,
                closes_on=form.closes_on.data,
                status=CampaignStatus.DRAFT,
                language=form.language.data,
                reminder_days=parse_days(form.reminder_days.data) or [],
                invitation_texts=_texts(form),
                contact_email=form.contact_email.data,
            )
            services.create_invitations(
                db.session,
                campaign,
                secret_key=current_app.config["SECRET_KEY"],
                language=form.language.data,
            )
        except services.CampaignError as exc:
            db.session.rollback()
            _fill_choices(form, institution_id)
            _apply_error(form, exc)
        else:
            flash(_("Draft created: check the pairs before opening it."), "success")
            return redirect(url_for(".pairs", campaign_id=campaign.id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("campaigns/form.html", form=form, campaign=None), status


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(campaign_id: int):
    """Change a campaign's settings (an opened one keeps its cohort and opening day)."""
    campaign = _campaign(campaign_id)
    form = CampaignForm(obj=None if request.method == "POST" else campaign)
    _fill_choices(form, campaign.institution_id)
    if request.method == "GET":
        form.instrument_version.data = campaign.instrument_version_id
        form.programmes.data = [p.id for p in campaign.programmes]
        form.reminder_days.data = ", ".join(str(d) for d in campaign.reminder_days or [])
        texts = campaign.invitation_texts or {}
        form.text_uz.data, form.text_ru.data, form.text_en.data = (
            texts.get("uz", ""),
            texts.get("ru", ""),
            texts.get("en", ""),
        )
    if form.validate_on_submit():
        try:
            services.update_campaign(
                db.session,
                campaign,
                name=form.name.data,
                instrument_version_id=form.instrument_version.data,
                year=form.year.data,
                programme_ids=form.programmes.data,
                opens_on=form.opens_on.data,
                closes_on=form.closes_on.data,
                language=form.language.data,
                reminder_days=parse_days(form.reminder_days.data) or [],
                invitation_texts=_texts(form),
                contact_email=form.contact_email.data,
            )
        except services.CampaignError as exc:
            db.session.rollback()
            campaign = _campaign(campaign_id)
            _fill_choices(form, campaign.institution_id)
            _apply_error(form, exc)
        else:
            flash(_("Campaign saved."), "success")
            return redirect(url_for(".show", campaign_id=campaign.id), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("campaigns/form.html", form=form, campaign=campaign), status


# --- pairs of a draft ---------------------------------------------------------------------


@bp.route("/<int:campaign_id>/pairs")
@roles_required(*STAFF)
def pairs(campaign_id: int):
    """The preview before opening: invited pairs, graduates without contact, adding more."""
    campaign = _campaign(campaign_id)
    page = workspace.invitation_page(
        db.session, campaign, _today(), status=None, search=text_arg("q"), page=page_arg()
    )
    form = PairForm()
    choices = workspace.pair_choices(db.session, campaign)
    form.graduate.choices = select_choices(choices["graduates"])
    form.employer.choices = select_choices(choices["employers"])
    return render_template(
        "campaigns/pairs.html",
        campaign=campaign,
        page=page,
        no_contact=workspace.no_contact(db.session, campaign),
        form=form,
        upload=UploadForm(),
        button=ButtonForm(),
    )


@bp.post("/<int:campaign_id>/pairs/add")
@roles_required(*STAFF)
def pair_add(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = PairForm()
    choices = workspace.pair_choices(db.session, campaign)
    form.graduate.choices = select_choices(choices["graduates"])
    form.employer.choices = select_choices(choices["employers"])
    if not form.validate():
        flash(_("Choose a graduate and an employer from the lists."), "error")
        return redirect(url_for(".pairs", campaign_id=campaign.id), 303)
    try:
        workspace.add_pair(
            db.session,
            campaign,
            graduate_id=form.graduate.data,
            employer_id=form.employer.data,
            secret_key=current_app.config["SECRET_KEY"],
        )
    except services.CampaignError as exc:
        _refused(exc)
    else:
        flash(_("Pair added."), "success")
    return redirect(url_for(".pairs", campaign_id=campaign.id), 303)


@bp.post("/<int:campaign_id>/pairs/upload")
@roles_required(*STAFF)
def pair_upload(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = UploadForm()
    upload = form.file.data
    if not form.validate() or upload is None or not getattr(upload, "filename", ""):
        flash(_("Choose a CSV or XLSX file to upload."), "error")
        return redirect(url_for(".pairs", campaign_id=campaign.id), 303)
    data = upload.read(current_app.config.get("MAX_CONTENT_LENGTH") or 50 * 1024 * 1024)
    try:
        result = workspace.upload_pairs(
            db.session,
            campaign,
            data,
            upload.filename,
            secret_key=current_app.config["SECRET_KEY"],
        )
    except services.CampaignError as exc:
        _refused(exc)
        return redirect(url_for(".pairs", campaign_id=campaign.id), 303)
    if result.errors:
        return (
            render_template(
                "campaigns/upload_errors.html",
                campaign=campaign,
                errors=result.errors[:200],
                more=max(0, len(result.errors) - 200),
                filename=upload.filename,
            ),
            422,
        )
    flash(
        _("%(num)d pair(s) added from %(file)s.", num=result.added, file=upload.filename), "success"
    )
    return redirect(url_for(".pairs", campaign_id=campaign.id), 303)


@bp.post("/<int:campaign_id>/pairs/<int:invitation_id>/exclude")
@roles_required(*STAFF)
def pair_exclude(campaign_id: int, invitation_id: int):
    campaign = _campaign(campaign_id)
    invitation = _invitation(invitation_id)
    if not ButtonForm().validate():
        abort(400)
    try:
        workspace.exclude_pair(db.session, campaign, invitation)
    except services.CampaignError as exc:
        _refused(exc)
    else:
        flash(_("Pair left out."), "success")
    return redirect(url_for(".pairs", campaign_id=campaign.id), 303)


# --- the campaign page --------------------------------------------------------------------


@bp.route("/<int:campaign_id>")
@roles_required(*STAFF)
def show(campaign_id: int):
    """Counts overall, per programme and per day; the invitations, filtered and paged."""
    campaign = _campaign(campaign_id)
    today = _today()
    status = request.args.get("status") or None
    if status not in (None, *STATUS_FILTERS):
        status = None
    search = text_arg("q")
    summary, by_programme = workspace.campaign_numbers(db.session, campaign, today)
    chart = figures.responses_per_day(
        submissions_per_day(db.session, campaign.id, current_app.config["HAMKOR_TIMEZONE"]),
        invited=summary["invited"],
    )
    page = workspace.invitation_page(
        db.session, campaign, today, status=status, search=search, page=page_arg()
    )
    html = render_template(
        "campaigns/show.html",
        campaign=campaign,
        summary=summary,
        by_programme=by_programme,
        chart=chart,
        page=page,
        status=status,
        search=search or "",
        filter_args={"campaign_id": campaign.id, **({"status": status} if status else {})},
        pager_args={
            "campaign_id": campaign.id,
            **({"status": status} if status else {}),
            **({"q": search} if search else {}),
        },
        failures=delivery_failures(db.session, campaign.id),
        button=ButtonForm(),
        state_buttons=[
            (state, label)
            for state, label in STATE_BUTTONS.items()
            if CampaignStatus(state) in services.TRANSITIONS[campaign.status]
        ],
        link_for=lambda invitation: invitation_link(
            invitation, current_app.config["SECRET_KEY"], current_app.config["HAMKOR_BASE_URL"]
        ),
    )
    return no_store(Response(html))


@bp.post("/<int:campaign_id>/status")
@roles_required(*STAFF)
def change_status(campaign_id: int):
    """Open, close, reopen or archive (audited)."""
    campaign = _campaign(campaign_id)
    state = request.form.get("state", "")
    if not ButtonForm().validate() or state not in STATE_BUTTONS:
        abort(400)
    try:
        services.change_status(db.session, campaign, CampaignStatus(state))
    except services.CampaignError as exc:
        _refused(exc)
        return redirect(url_for(".show", campaign_id=campaign.id), 303)
    flash(_("The campaign is %(state)s now.", state=CAMPAIGN_STATES[state]), "success")
    return redirect(url_for(".show", campaign_id=campaign.id), 303)


@bp.post("/<int:campaign_id>/send")
@roles_required(*STAFF)
def send(campaign_id: int):
    """Send the invitations (or the due reminders) as a background job."""
    campaign = _campaign(campaign_id)
    mode = request.form.get("mode", "")
    if not ButtonForm().validate() or mode not in ("invite", "remind"):
        abort(400)
    if campaign.status != CampaignStatus.OPEN:
        flash(_("Only an open campaign's invitations are sent."), "error")
        return redirect(url_for(".show", campaign_id=campaign.id), 303)
    job = submit_job(
        db.session,
        SEND_JOB,
        {"campaign_id": campaign.id, "mode": mode},
        user=g.user,
        institution_id=campaign.institution_id,
    )
    return redirect(url_for("jobs.show", job_id=job.id), 303)


def _export_rows(campaign: Campaign, status: str | None):
    secret, base = current_app.config["SECRET_KEY"], current_app.config["HAMKOR_BASE_URL"]
    header = [
        _("Employer"),
        _("E-mail"),
        _("Graduate"),
        _("Programme"),
        _("Status"),
        _("Sent"),
        _("Link"),
    ]
    rows = [
        [
            employer,
            invitation.email,
            graduate,
            programme,
            str(INVITATION_STATUSES[status_]),
            invitation.sent_at.isoformat(timespec="minutes") if invitation.sent_at else "",
            invitation_link(invitation, secret, base),
        ]
        for invitation, employer, graduate, programme, status_ in workspace.export_rows(
            db.session, campaign, _today(), status
        )
    ]
    return header, rows


@bp.route("/<int:campaign_id>/invitations.csv")
@roles_required(*STAFF)
def export_csv(campaign_id: int):
    """The invitations with their links (filtered by ``status`` like the page) as CSV."""
    return _export(campaign_id, "csv")


@bp.route("/<int:campaign_id>/invitations.xlsx")
@roles_required(*STAFF)
def export_xlsx(campaign_id: int):
    """The invitations with their links (filtered by ``status`` like the page) as XLSX."""
    return _export(campaign_id, "xlsx")


def _export(campaign_id: int, fmt: str):
    campaign = _campaign(campaign_id)
    status = request.args.get("status") or None
    if status not in (None, *STATUS_FILTERS):
        status = None
    header, rows = _export_rows(campaign, status)
    filename = f"campaign-{campaign.id}-invitations.{fmt}"
    if fmt == "csv":
        stream = io.StringIO()
        writer = csv.writer(stream)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else neutralise_formula(v) for v in row])
        body, mimetype = stream.getvalue().encode("utf-8"), "text/csv; charset=utf-8"
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(_("Invitations")[:31])
        sheet.append(header)
        for row in rows:
            sheet.append([neutralise_formula(v) for v in row])
        buffer = io.BytesIO()
        book.save(buffer)
        body = buffer.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return no_store(response)


@bp.route("/<int:campaign_id>/letters")
@roles_required(*STAFF)
def letters(campaign_id: int):
    """One printable letter per employer, each graduate's link also as a QR code."""
    campaign = _campaign(campaign_id)
    secret, base = current_app.config["SECRET_KEY"], current_app.config["HAMKOR_BASE_URL"]

    def qr(invitation: Invitation) -> str:
        link = invitation_link(invitation, secret, base)
        svg = segno.make(link, error="m").svg_inline(scale=3, omitsize=False)
        # the SVG is made here from a URL we built; keep only the element itself
        return re.sub(r"^<\?xml[^>]*>\s*", "", svg)

    html = render_template(
        "campaigns/letters.html",
        campaign=campaign,
        letters=workspace.letters(db.session, campaign, _today()),
        link_for=lambda invitation: invitation_link(invitation, secret, base),
        qr=qr,
    )
    return no_store(Response(html))


# --- one invitation -----------------------------------------------------------------------


def _change_invitation(invitation_id: int, change, done: str):
    """A button's change to one link (``change(session, invitation)``): done, or refused
    with the reason; back to the campaign page either way."""
    invitation = _invitation(invitation_id)
    if not ButtonForm().validate():
        abort(400)
    try:
        change(db.session, invitation)
    except services.CampaignError as exc:
        _refused(exc)
    else:
        flash(done, "success")
    return redirect(url_for(".show", campaign_id=invitation.campaign_id), 303)


@bp.post("/invitations/<int:invitation_id>/withdraw")
@roles_required(*STAFF)
def withdraw(invitation_id: int):
    return _change_invitation(
        invitation_id,
        services.withdraw_invitation,
        _("Link withdrawn: the employer now sees a polite \u201cwithdrawn\u201d page."),
    )


@bp.post("/invitations/<int:invitation_id>/reissue")
@roles_required(*STAFF)
def reissue(invitation_id: int):
    secret_key = current_app.config["SECRET_KEY"]
    return _change_invitation(
        invitation_id,
        lambda session, invitation: services.reissue_invitation(
            session, invitation, secret_key=secret_key
        ),
        _("New link made; the old one no longer opens. Send the invitations to mail it."),
    )


@bp.route("/invitations/<int:invitation_id>/response")
@roles_required(*STAFF)
def response(invitation_id: int):
    """A submitted form, read-only, free text included (staff of the institution only)."""
    from surveys.responses.views import answer_summary

    invitation = _invitation(invitation_id)
    submitted = workspace.submitted_response(db.session, invitation)
    if submitted is None:
        abort(404)
    html = render_template(
        "campaigns/response.html",
        invitation=invitation,
        response=submitted,
        summary=answer_summary(submitted, _language()),
    )
    return no_store(Response(html))
