"""Administration pages: users (roles, committee scopes, passwords), institutions, and the
shared identities of enterprises."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from surveys.admin import services
from surveys.admin.forms import (
    ConfirmForm,
    EnterpriseForm,
    InstitutionForm,
    NewUserForm,
    SetPasswordForm,
    UserForm,
    UserSearchForm,
)
from surveys.auth.access import roles_required
from surveys.auth.forms import role_choices
from surveys.auth.models import Role, User
from surveys.auth.services import InputError
from surveys.extensions import db
from surveys.i18n import LANGUAGE_NAMES
from surveys.registry.models import Employer, Institution, Programme
from surveys.web import apply_input_error, no_store, page_arg, text_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Rows per page in the user list.
PER_PAGE = 25


# --- users (admin) ---------------------------------------------------------------------------


def _institution_choices() -> list[SelectChoice]:
    institutions = services.all_institutions(db.session)
    language = str(get_locale())
    return [SelectChoice(str(i.id), f"{i.code} — {i.name_in(language)}") for i in institutions]


def _assignment_choices() -> list[SelectChoice]:
    """``i:<id>`` = a whole institution, ``p:<id>`` = one programme, grouped by institution."""
    choices = []
    language = str(get_locale())
    for inst in services.all_institutions(db.session):
        group = f"{inst.code} — {inst.name_in(language)}"
        choices.append(
            SelectChoice(
                f"i:{inst.id}", _("%(code)s: all programmes", code=inst.code), optgroup=group
            )
        )
        for prog in inst.programmes:
            choices.append(
                SelectChoice(
                    f"p:{prog.id}",
                    f"{inst.code} / {prog.code} — {prog.name_in(language)}",
                    optgroup=group,
                )
            )
    return choices


def _parse_assignments(values: list[str]) -> list[services.Assignment]:
    """Form values ``i:<id>`` / ``p:<id>`` → (institution id, programme id or None)."""
    pairs: list[services.Assignment] = []
    for value in values or []:
        kind, _sep, raw = value.partition(":")
        if kind == "i":
            pairs.append((int(raw), None))
        elif kind == "p":
            programme = db.session.get(Programme, int(raw))
            if programme is not None:
                pairs.append((programme.institution_id, programme.id))
    return pairs


def _assignment_values(user: User) -> list[str]:
    """The form values of a user's current assignments."""
    return [
        f"p:{a.programme_id}" if a.programme_id is not None else f"i:{a.institution_id}"
        for a in services.committee_assignments(db.session, user.id)
    ]


def _user_form_scope(form: UserForm) -> tuple[int | None, list[services.Assignment]]:
    role = form.role.data
    institution_id = int(form.institution.data) if form.institution.data else None
    assignments = _parse_assignments(form.assignments.data)
    # fields that do not apply to the chosen role are ignored rather than refused: the form
    # shows all of them, and a stale selection should not block e.g. promoting staff to admin
    if role != Role.STAFF:
        institution_id = None
    if role != Role.COMMITTEE:
        assignments = []
    return institution_id, assignments


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    """All users, searchable by e-mail and filterable by role, 25 a page."""
    form = UserSearchForm(request.args)
    form.role.choices = role_choices(blank=_("Any role"))
    search, role = None, None
    if form.validate():
        search, role = form.q.data or None, form.role.data or None
    result = services.list_users(
        db.session, search=search, role=role, page=page_arg(), per_page=PER_PAGE
    )
    args = {k: v for k, v in (("q", search), ("role", role)) if v}
    return render_template(
        "admin/users.html",
        form=form,
        users=result.rows,
        scopes=services.assignment_codes(db.session, [u.id for u in result.rows]),
        page=result.page,
        pages=result.pages,
        total=result.total,
        args=args,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    """Create a user; a generated one-time password is shown once on the next page."""
    form = NewUserForm()
    form.fill_choices(_institution_choices(), _assignment_choices())
    if request.method == "GET":
        form.role.data = Role.STAFF.value
    if form.validate_on_submit():
        institution_id, assignments = _user_form_scope(form)
        try:
            result = services.create_user(
                db.session,
                email=form.email.data,
                role=form.role.data,
                institution_id=institution_id,
                password=form.password.data or None,
                assignments=assignments,
                must_change_password=True,  # the admin saw or chose it
            )
        except InputError as error:
            apply_input_error(form, error)
        else:
            if result.generated:
                return no_store(
                    make_response(
                        render_template(
                            "admin/password_shown.html",
                            user=result.user,
                            password=result.generated,
                            created=True,
                        )
                    )
                )
            flash(_("User %(email)s created.", email=result.user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    """Change a user's role, institution and committee assignments; links to the other actions."""
    user = _load_user(user_id)
    form = UserForm(obj=None)
    form.fill_choices(_institution_choices(), _assignment_choices())
    if request.method == "GET":
        form.role.data = user.role.value
        form.institution.data = str(user.institution_id) if user.institution_id else ""
        form.assignments.data = _assignment_values(user)
    if form.validate_on_submit():
        institution_id, assignments = _user_form_scope(form)
        try:
            services.update_user(
                db.session,
                user.id,
                role=form.role.data,
                institution_id=institution_id,
                assignments=assignments,
                acting_user_id=g.user.id,
            )
        except InputError as error:
            apply_input_error(form, error)
        else:
            flash(_("Changes to %(email)s saved.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        confirm_form=ConfirmForm(),
        password_form=SetPasswordForm(),
    )


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def user_set_active(user_id: int):
    """Deactivate or reactivate a user (``active=0|1``); never one's own account."""
    user = _load_user(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        services.set_user_active(db.session, user.id, active, acting_user_id=g.user.id)
    except InputError as error:
        flash(error.message, "error")
    else:
        if active:
            flash(_("%(email)s can log in again.", email=user.email), "success")
        else:
            flash(
                _("%(email)s is deactivated and logged out everywhere.", email=user.email),
                "success",
            )
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@roles_required(Role.ADMIN)
def user_reset_password(user_id: int):
    """Give a user a new password (chosen, or generated and shown once); their sessions end."""
    user = _load_user(user_id)
    form = SetPasswordForm()
    if not form.validate_on_submit():
        for error in form.password.errors:
            flash(error, "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    try:
        result = services.set_password(
            db.session, user.id, form.password.data or None, must_change_password=True
        )
    except InputError as error:
        flash(error.message, "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    if result.generated:
        return no_store(
            make_response(
                render_template(
                    "admin/password_shown.html",
                    user=user,
                    password=result.generated,
                    created=False,
                )
            )
        )
    flash(_("The password of %(email)s is changed.", email=user.email), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


# --- institutions (admin) ---------------------------------------------------------------------


@bp.route("/institutions")
@roles_required(Role.ADMIN)
def institutions():
    """All institutions with their number of programmes and staff accounts."""
    rows = services.institution_rows(db.session)
    return render_template("admin/institutions.html", rows=rows)


@bp.route("/institutions/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def institution_new():
    """Add an institution."""
    form = InstitutionForm()
    if form.validate_on_submit():
        try:
            institution = services.create_institution(
                db.session,
                code=form.code.data,
                name=form.name.data,
                privacy_notice=form.privacy_notice.data,
            )
            services.set_institution_languages(db.session, institution.id, **form.languages())
        except InputError as error:
            db.session.rollback()  # nothing of a refused form is kept
            apply_input_error(form, error)
        else:
            flash(_("Institution %(code)s created.", code=institution.code), "success")
            return redirect(url_for("admin.institutions"))
    return render_template(
        "admin/institution_form.html", form=form, institution=None, language_names=LANGUAGE_NAMES
    )


@bp.route("/institutions/<int:institution_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def institution_edit(institution_id: int):
    """Change an institution's code, name or privacy notice."""
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        abort(404)
    form = InstitutionForm(obj=institution)
    if request.method == "GET":
        form.fill_languages(institution)
    if form.validate_on_submit():
        try:
            services.update_institution(
                db.session,
                institution.id,
                code=form.code.data,
                name=form.name.data,
                privacy_notice=form.privacy_notice.data,
            )
            services.set_institution_languages(db.session, institution.id, **form.languages())
        except InputError as error:
            db.session.rollback()  # nothing of a refused form is kept
            apply_input_error(form, error)
        else:
            flash(_("Changes to %(code)s saved.", code=institution.code), "success")
            return redirect(url_for("admin.institutions"))
    return render_template(
        "admin/institution_form.html",
        form=form,
        institution=institution,
        language_names=LANGUAGE_NAMES,
    )


# --- enterprises (admin) ----------------------------------------------------------------------


@bp.route("/enterprises")
@roles_required(Role.ADMIN)
def enterprises():
    """Enterprises' shared identities: search, how many institutions work with each."""
    search = text_arg("q")
    result = services.list_enterprises(
        db.session, search=search, page=page_arg(), per_page=PER_PAGE
    )
    return render_template(
        "admin/enterprises.html",
        result=result,
        search=search or "",
        args={"q": search} if search else {},
    )


@bp.route("/enterprises/<int:employer_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def enterprise_edit(employer_id: int):
    """Correct an enterprise's identity (audited); see which institutions work with it."""
    employer = db.session.get(Employer, employer_id)
    if employer is None:
        abort(404)
    form = EnterpriseForm(obj=employer)
    if form.validate_on_submit():
        try:
            services.update_enterprise(
                db.session,
                employer.id,
                tax_number=form.tax_number.data,
                name=form.name.data,
                sector=form.sector.data,
                region=form.region.data,
            )
        except InputError as error:
            apply_input_error(form, error)
        else:
            flash(_("Changes to %(name)s saved.", name=employer.name), "success")
            return redirect(url_for("admin.enterprises"))
    status = 422 if form.errors else 200
    return (
        render_template(
            "admin/enterprise_form.html",
            form=form,
            employer=employer,
            links=services.enterprise_links(db.session, employer.id),
        ),
        status,
    )
