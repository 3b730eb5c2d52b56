"""The "Yearly report" page: choose year, programme, format and language; the build runs as
a job (303 to its progress page, which offers the file); kept reports are listed here."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from surveys.auth.access import roles_required
from surveys.auth.models import Role
from surveys.dashboard.scope import OutOfScope
from surveys.extensions import db
from surveys.jobs.services import submit_job
from surveys.reports import services
from surveys.reports.forms import ReportForm
from surveys.reports.jobs import REPORT_JOB, describe_report

bp = Blueprint("reports", __name__)


@bp.route("/reports", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN, Role.COMMITTEE)
def index():
    """Staff build their institution's report, committee members their programmes'
    (aggregated formats only), administrators any institution's."""
    form = ReportForm()
    wanted = (request.form.get("institution") or request.args.get("institution") or "")[:64]
    try:
        page = services.report_page(db.session, g.user, institution_code=wanted or None)
    except (OutOfScope, LookupError) as exc:
        if request.method == "GET":
            abort(403 if isinstance(exc, OutOfScope) else 404)
        # a posted institution the reader may not see: the form says so (check_request)
        page = services.report_page(db.session, g.user, institution_code=None)
    form.institution.choices = [
        SelectChoice(i.code, f"{i.code} · {i.name}") for i in page.institutions
    ]
    form.year.choices = [SelectChoice(str(y), str(y)) for y in page.years]
    every = _("All programmes of the institution") if page.whole else _("All my programmes")
    form.programme.choices = [SelectChoice("", every)] + [
        SelectChoice(p.code, f"{p.code} {p.name}") for p in page.programmes
    ]
    form.format.choices = [SelectChoice(k, services.FORMATS[k].label) for k in page.formats]
    if request.method == "GET":
        form.institution.data = page.institution.code if page.institution else None
        form.lang.data = str(get_locale() or "uz")
    status = 200
    if form.validate_on_submit():
        year = form.year.data or ""
        try:
            scope = services.check_request(
                db.session,
                g.user,
                year=int(year) if year.isdigit() and len(year) == 4 else None,
                fmt=form.format.data,
                lang=form.lang.data,
                institution_code=form.institution.data,
                programme_code=form.programme.data or None,
            )
        except services.ReportProblem as problem:
            field = getattr(form, problem.field)  # the form's fields are named as the options
            field.errors = [*field.errors, problem.message]
        else:
            job = submit_job(
                db.session,
                REPORT_JOB,
                scope.params(),
                user=g.user,
                institution_id=scope.institution.id,
            )
            return redirect(url_for("jobs.show", job_id=job.id), code=303)
    if request.method == "POST":
        status = 400
    return (
        render_template("reports/index.html", form=form, page=page, describe=describe_report),
        status,
    )
