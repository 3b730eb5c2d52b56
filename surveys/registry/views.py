"""Staff pages of the registry: overview, one list per kind, the import upload, templates."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from surveys.auth.access import institution_scope, roles_required
from surveys.auth.models import Role
from surveys.extensions import db
from surveys.registry import services
from surveys.registry.columns import IMPORT_KINDS
from surveys.registry.forms import ImportForm
from surveys.registry.imports import SHOWN_ERRORS, import_registry_file, template_csv
from surveys.registry.labels import VALUE_LABELS
from surveys.registry.models import Institution
from surveys.registry.services import LIST_COLUMNS, LIST_KINDS

bp = Blueprint("registry", __name__, url_prefix="/registry")

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

#: Page titles of the lists.
LIST_TITLES = {kind: IMPORT_KINDS[kind].label for kind in LIST_KINDS}


def _institution() -> Institution | None:
    """The institution the page shows: staff their own; admins the ``institution`` arg.

    An admin who has not chosen gets the first institution; None when there is none yet.
    """
    scope = institution_scope(request.args.get("institution", type=int))
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
    search = request.args.get("q", "").strip()[:200] or None
    programme = request.args.get("programme", "").strip() or None
    year = request.args.get("year", type=int)
    page = services.list_registry(
        db.session,
        kind,
        institution.id,
        search=search,
        programme=programme if kind == "graduates" else None,
        year=year if kind == "graduates" else None,
        page=request.args.get("page", 1, type=int),
    )
    filters = {}
    if kind == "graduates":
        filters = {
            "programmes": services.programme_codes(db.session, institution.id),
            "years": services.graduation_years(db.session, institution.id),
        }
    query = {k: v for k, v in request.args.items() if k != "page" and v}
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


def _can_stage(data: bytes) -> bool:
    """Whether a checked file may ride along in the confirm form (base64 in a hidden field).

    Form fields are limited by ``MAX_FORM_MEMORY_SIZE`` (Flask's default 500 kB); larger
    files are chosen again for the import.
    """
    limit = current_app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000
    return len(data) * 4 // 3 + 8192 < limit


def _stage_signature(institution_id: int, kind: str, name: str, data: bytes) -> str:
    """HMAC binding a checked file to its user, institution and kind.

    The confirm step re-reads and re-validates the raw file in full, so the signature is not
    what makes it safe; it makes sure that "Import" writes exactly the file that was checked,
    for the institution and kind that were shown.
    """
    key = current_app.config["SECRET_KEY"].encode() + b"|registry-import-stage"
    message = b"|".join(
        [str(g.user.id).encode(), str(institution_id).encode(), kind.encode(), name.encode()]
    )
    return hmac.new(key, message + b"|" + data, hashlib.sha256).hexdigest()


def _uploaded_file(form: ImportForm, institution_id: int) -> tuple[str, bytes] | None:
    """The file of this request: a new upload, or the checked one sent back signed."""
    upload = form.file.data
    if upload:
        return upload.filename or "upload", upload.read()
    try:
        data = base64.b64decode(form.staged.data, validate=True)
    except (binascii.Error, ValueError):
        return None
    name = form.staged_name.data or "upload"
    expected = _stage_signature(institution_id, form.kind.data, name, data)
    if not hmac.compare_digest(expected, form.staged_signature.data or ""):
        return None
    return name, data


@bp.route("/import", methods=["GET", "POST"])
@roles_required("staff", "admin")
def import_upload():
    """Upload a registry file: "Check only" reports what would happen, "Import" applies it.

    After a successful check, a small file is sent back in the confirm form (signed, and
    validated again in full on import); a large one is chosen again. No parsed data is ever
    taken back from the browser, and no worker has to remember the first upload.
    """
    form = ImportForm()
    admin = g.user.role == Role.ADMIN
    if admin:
        form.institution.choices = {
            i.id: f"{i.code} · {i.name}" for i in services.institutions(db.session)
        }
        if request.method == "GET" and request.args.get("institution", type=int):
            form.institution.data = request.args.get("institution", type=int)
    else:
        del form.institution
    if request.method == "GET" and request.args.get("kind") in IMPORT_KINDS:
        form.kind.data = request.args["kind"]
    result = None
    staged = None
    status = 200
    if form.validate_on_submit():
        scope = institution_scope(form.institution.data if admin else None)
        institution = db.session.get(Institution, scope) if scope is not None else None
        if institution is None:
            abort(404)
        uploaded = _uploaded_file(form, institution.id)
        if uploaded is None:
            form.file.errors.append(
                _("The checked file could not be confirmed. Choose the file again.")
            )
            status = 400
        else:
            name, data = uploaded
            try:
                result = import_registry_file(
                    db.session,
                    institution,
                    form.kind.data,
                    data,
                    name,
                    dry_run=bool(form.check.data),
                )
            except SQLAlchemyError:
                db.session.rollback()
                flash(
                    _(
                        "The database refused the import and nothing was written. Another "
                        "import may have changed the same rows at the same time: please try "
                        "again."
                    ),
                    "error",
                )
                status = 409
            else:
                if result.written:
                    flash(
                        _(
                            "%(file)s imported: %(created)d created, %(updated)d updated, "
                            "%(unchanged)d unchanged.",
                            file=result.filename,
                            created=result.created,
                            updated=result.updated,
                            unchanged=result.unchanged,
                        ),
                        "success",
                    )
                    for warning in result.warnings:
                        flash(warning, "warning")
                    return redirect(url_for(f"registry.{result.kind}", **_scope_args(institution)))
                if not result.ok:
                    status = 422  # nothing was written; the error status also rolls back
                elif _can_stage(data):
                    staged = {
                        "kind": form.kind.data,
                        "institution": institution.id if admin else None,
                        "staged": base64.b64encode(data).decode(),
                        "staged_name": name,
                        "staged_signature": _stage_signature(
                            institution.id, form.kind.data, name, data
                        ),
                    }
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "registry/import.html",
            form=form,
            result=result,
            staged=staged,
            shown_errors=SHOWN_ERRORS,
            kinds=IMPORT_KINDS,
        ),
        status,
    )


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
