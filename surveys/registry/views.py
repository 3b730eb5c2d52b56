"""Staff pages of the registry: overview, one list per kind, the import upload, templates."""

from __future__ import annotations

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
from flask_babel import format_number, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from surveys.auth.access import institution_scope, roles_required
from surveys.auth.models import Role
from surveys.extensions import db
from surveys.i18n import LANGUAGE_NAMES
from surveys.jobs.models import JobState
from surveys.jobs.services import UploadedFile, job_for, jobs_for, submit_job, submit_with_input_of
from surveys.registry import services
from surveys.registry.columns import IMPORT_KINDS
from surveys.registry.forms import ImportForm
from surveys.registry.imports import template_csv
from surveys.registry.jobs import IMPORT_JOB, describe_import, import_params
from surveys.registry.labels import VALUE_LABELS
from surveys.registry.models import Institution
from surveys.registry.services import LIST_COLUMNS, LIST_KINDS
from surveys.web import clean_text, id_arg, int_arg, page_arg, text_arg

bp = Blueprint("registry", __name__, url_prefix="/registry")

#: Imports listed under the upload form.
RECENT_IMPORTS = 5

#: Column headings of the lists (keys are the import column names).
COLUMN_LABELS = {
    "code": _l("Code"),
    "name": _l("Name"),
    "level": _l("Level"),
    "field_of_study": _l("Field of study"),
    "graduates": _l("Graduates"),
    "student_number": _l("Student number"),
    "full_name": _l("Full name"),
    "programme_code": _l("Programme"),
    "graduation_year": _l("Year"),
    "email": _l("E-mail"),
    "pseudonym": _l("Pseudonym"),
    "tax_number": _l("Tax number"),
    "sector": _l("Sector"),
    "region": _l("Region"),
    "contact_name": _l("Contact"),
    "contact_email": _l("Contact e-mail"),
    "notes": _l("Notes"),
    "number": _l("Number"),
    "employer_tax_number": _l("Employer tax number"),
    "employer_name": _l("Employer"),
    "kind": _l("Kind"),
    "signed_on": _l("Signed"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "position": _l("Position"),
    "start_date": _l("Start"),
    "end_date": _l("End"),
    "mentor_name": _l("Mentor"),
    "agreement_number": _l("Agreement"),
}

COLUMN_LABELS.update(
    {
        f"name_{language}": _l("Name (%(language)s)", language=label)
        for language, label in LANGUAGE_NAMES.items()
    }
)

#: Page titles of the lists.
LIST_TITLES = {kind: IMPORT_KINDS[kind].label for kind in LIST_KINDS}


def _institution() -> Institution | None:
    """The institution the page shows: staff their own; admins the ``institution`` arg.

    An admin who has not chosen gets the first institution; None when there is none yet.
    """
    scope = institution_scope(id_arg("institution"))
    if scope is None:  # admin without a choice
        choices = services.institutions(db.session)
        return choices[0] if choices else None
    institution = db.session.get(Institution, scope)
    if institution is None:
        abort(404)
    return institution


def _selector_context(institution: Institution | None) -> dict:
    """What the admin's institution selector needs (nothing for staff)."""
    if g.user.role != Role.ADMIN:
        return {"institution_choices": []}
    return {"institution_choices": services.institutions(db.session)}


def _scope_args(institution: Institution) -> dict:
    """Query args that keep an admin on the chosen institution across links."""
    return {"institution": institution.id} if g.user.role == Role.ADMIN else {}


@bp.route("/")
@roles_required("staff", "admin")
def overview():
    """Counts of each kind for the institution, with links to the lists and the import."""
    institution = _institution()
    if institution is None:
        return render_template("registry/no_institution.html")
    counts = services.registry_counts(db.session, institution.id)
    return render_template(
        "registry/overview.html",
        institution=institution,
        counts=counts,
        titles=LIST_TITLES,
        scope_args=_scope_args(institution),
        **_selector_context(institution),
    )


def list_rows(kind: str):
    """One registry list: search box, filters (graduates), 50 rows a page."""
    institution = _institution()
    if institution is None:
        return render_template("registry/no_institution.html")
    search = text_arg("q")
    programme = text_arg("programme", max_length=32) if kind == "graduates" else None
    year = int_arg("year", minimum=1, maximum=9999) if kind == "graduates" else None
    page = services.list_registry(
        db.session,
        kind,
        institution.id,
        search=search,
        programme=programme,
        year=year,
        page=page_arg(),
        per_page=services.PER_PAGE,
    )
    filters = {}
    if kind == "graduates":
        filters = {
            "programmes": services.programme_codes(db.session, institution.id),
            "years": services.graduation_years(db.session, institution.id),
        }
    # the pager keeps what was understood, nothing else (a stray ``kind=`` cannot reach url_for)
    query = {"q": search, "programme": programme, "year": year, **_scope_args(institution)}
    query = {k: v for k, v in query.items() if v}
    return render_template(
        "registry/list.html",
        kind=kind,
        title=LIST_TITLES[kind],
        institution=institution,
        page=page,
        columns=[(c, COLUMN_LABELS[c]) for c in LIST_COLUMNS[kind]],
        value_labels=VALUE_LABELS,
        search=search or "",
        programme=programme,
        year=year,
        filters=filters,
        query=query,
        scope_args=_scope_args(institution),
        **_selector_context(institution),
    )


for _kind in LIST_KINDS:
    bp.add_url_rule(
        f"/{_kind}",
        endpoint=_kind,
        view_func=roles_required("staff", "admin")(list_rows),
        defaults={"kind": _kind},
    )


@bp.route("/import", methods=["GET", "POST"])
@roles_required("staff", "admin")
def import_upload():
    """Upload a registry file: "Check only" reports what would happen, "Import" applies it.

    Either way the file is stored with a background job and the answer is a 303 to the
    job's progress page at once: no web worker reads a large file. The job page of a check
    without problems offers to import that same file (:func:`import_checked`).
    """
    form = ImportForm()
    admin = g.user.role == Role.ADMIN
    if admin:
        form.institution.choices = {
            i.id: f"{i.code} · {i.name_in(str(get_locale()))}"
            for i in services.institutions(db.session)
        }
        if request.method == "GET" and id_arg("institution"):
            form.institution.data = id_arg("institution")
    else:
        del form.institution
    if request.method == "GET" and request.args.get("kind") in IMPORT_KINDS:
        form.kind.data = request.args["kind"]
    status = 200
    if form.validate_on_submit():
        scope = institution_scope(form.institution.data if admin else None)
        institution = db.session.get(Institution, scope) if scope is not None else None
        if institution is None:
            abort(404)
        upload = form.file.data
        name = clean_text(upload.filename, max_length=255) or "upload"
        job = submit_job(
            db.session,
            IMPORT_JOB,
            import_params(institution, form.kind.data, name, dry_run=bool(form.check.data)),
            user=g.user,
            institution_id=institution.id,
            input_file=UploadedFile(
                name, upload.mimetype or "application/octet-stream", upload.read()
            ),
        )
        return redirect(url_for("jobs.show", job_id=job.id), code=303)
    if request.method == "POST":
        status = 400
    recent = db.session.scalars(
        jobs_for(db.session, g.user, kind=IMPORT_JOB).limit(RECENT_IMPORTS)
    ).all()
    return (
        render_template(
            "registry/import.html",
            form=form,
            kinds=IMPORT_KINDS,
            recent=recent,
            describe=describe_import,
            max_rows=format_number(current_app.config["HAMKOR_IMPORT_MAX_ROWS"]),
        ),
        status,
    )


@bp.route("/import/<int:job_id>/confirm", methods=["POST"])
@roles_required("staff", "admin")
def import_checked(job_id: int):
    """Import the file that a check found without problems (no need to choose it again)."""
    check = job_for(db.session, job_id, g.user)
    if check is None or check.kind != IMPORT_JOB:
        abort(404)
    result = check.result or {}
    if check.state != JobState.SUCCEEDED or not check.params.get("dry_run") or not result.get("ok"):
        flash(_("Only a check that found no problems can be imported from here."), "error")
        return redirect(url_for("jobs.show", job_id=check.id), code=303)
    institution_scope(check.institution_id)  # staff: still their institution's file
    job = submit_with_input_of(
        db.session, check, IMPORT_JOB, {**check.params, "dry_run": False}, user=g.user
    )
    return redirect(url_for("jobs.show", job_id=job.id), code=303)


@bp.route("/templates/<kind>.csv")
@roles_required("staff", "admin")
def import_template(kind: str):
    """A CSV template (the header row) of a kind, UTF-8 with BOM so that Excel reads it."""
    if kind not in IMPORT_KINDS:
        abort(404)
    return Response(
        "\ufeff" + template_csv(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={kind}.csv"},
    )
