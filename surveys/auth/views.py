"""Login, logout, own password, user and institution administration, audit log, committee home."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from surveys.audit.services import details_for_display, event_actions, list_events, record_event
from surveys.auth import services
from surveys.auth.access import (
    institution_scope,
    load_logged_in_user,
    roles_required,
    start_session,
)
from surveys.auth.forms import (
    ROLE_LABELS,
    AuditFilterForm,
    ChangePasswordForm,
    ConfirmForm,
    InstitutionForm,
    LoginForm,
    NewUserForm,
    SetPasswordForm,
    UserForm,
    UserSearchForm,
    role_choices,
)
from surveys.auth.models import Role, User
from surveys.extensions import db, limiter
from surveys.registry.models import Institution, Programme

bp = Blueprint("auth", __name__)
bp.before_app_request(load_logged_in_user)
bp.add_app_template_filter(details_for_display, "audit_details")

#: Rows per page in the user list and the audit log.
PER_PAGE = 25
AUDIT_PER_PAGE = 50
#: Failed logins allowed per account (whatever the IP) unless HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT
#: says otherwise; slows down guessing from many addresses without locking out the owner long.
DEFAULT_ACCOUNT_RATE_LIMIT = "20 per hour"


#: Endpoints a user whose password was set by someone else may still open.
_PASSWORD_CHANGE_EXEMPT = {"auth.change_password", "auth.logout", "auth.login", "static"}


@bp.before_app_request
def require_own_password():
    """Until a user replaces a password an administrator gave them, staff/admin/committee
    pages lead to the password form (the administrator knows the old one)."""
    user = g.get("user")
    if user is None or not user.must_change_password:
        return None
    if request.endpoint in _PASSWORD_CHANGE_EXEMPT:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "allowed_roles", None):
        return None  # public pages (employer links, the landing redirect) are unaffected
    flash(_("Please choose your own password before you continue."), "warning")
    return redirect(url_for("auth.change_password", next=request.full_path.rstrip("?")))


@bp.app_context_processor
def role_labels_context():
    """``role_labels``: each role's name in the user's language, for any template."""
    return {"role_labels": ROLE_LABELS}


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return None
    return target


def home_for(role: Role) -> str:
    """Where a user lands after login."""
    endpoints = {
        Role.ADMIN: "auth.users",
        Role.STAFF: "registry.overview",
        Role.COMMITTEE: "auth.committee_home",
    }
    endpoint = endpoints[role]
    if endpoint not in current_app.view_functions:
        return url_for("auth.index")
    return url_for(endpoint)


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _apply_input_error(form, error: services.InputError) -> None:
    """Show a service's refusal beside the field it concerns (or as a flash)."""
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def _no_store(response):
    """Pages showing a one-time password must not be kept by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# --- login, logout, own password ------------------------------------------------------------


@bp.route("/")
def index():
    """Send logged-in users to their home page and everyone else to the login page."""
    if g.user is None:
        return redirect(url_for("auth.login"))
    target = home_for(g.user.role)
    if target == url_for("auth.index"):
        return render_template("auth/home.html")
    return redirect(target)


def _login_limit() -> str:
    return current_app.config["HAMKOR_LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config.get("HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT", DEFAULT_ACCOUNT_RATE_LIMIT)


def _account_key() -> str:
    return "login-account:" + (request.form.get("email") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(
    _account_limit,
    methods=["POST"],
    key_func=_account_key,
    deduct_when=lambda response: response.status_code != 302,  # only failed attempts count
)
def login():
    """The login form (fields ``email`` and ``password``)."""
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong e-mail or password."), "error")
            return render_template("auth/login.html", form=form), 200
        start_session(user)
        target = _safe_next(request.args.get("next")) or home_for(user.role)
        if user.must_change_password:
            return redirect(url_for("auth.change_password", next=target))
        return redirect(target)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session (POST with CSRF token, so no link can log anyone out)."""
    if g.user is not None:
        record_event(db.session, "auth.logout", obj=g.user)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.COMMITTEE)
def change_password():
    """Change one's own password; every other session of the account ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = services.change_own_password(
                db.session, g.user, form.current_password.data, form.new_password.data
            )
        except services.InputError as error:
            _apply_input_error(form, error)
        else:
            start_session(user)  # this session follows the new password; the others end
            flash(
                _(
                    "Your password is changed. Other devices where you were logged in are "
                    "logged out."
                ),
                "success",
            )
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
    return render_template("auth/change_password.html", form=form)


# --- users (admin) ---------------------------------------------------------------------------


def _institution_choices() -> list[SelectChoice]:
    institutions = db.session.scalars(select(Institution).order_by(Institution.code))
    return [SelectChoice(str(i.id), f"{i.code} — {i.name}") for i in institutions]


def _assignment_choices() -> list[SelectChoice]:
    """``i:<id>`` = a whole institution, ``p:<id>`` = one programme, grouped by institution."""
    choices = []
    for inst in db.session.scalars(select(Institution).order_by(Institution.code)):
        group = f"{inst.code} — {inst.name}"
        choices.append(
            SelectChoice(
                f"i:{inst.id}", _("%(code)s: all programmes", code=inst.code), optgroup=group
            )
        )
        for prog in inst.programmes:
            choices.append(
                SelectChoice(
                    f"p:{prog.id}", f"{inst.code} / {prog.code} — {prog.name}", optgroup=group
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
    return [
        f"p:{a.programme_id}" if a.programme_id is not None else f"i:{a.institution_id}"
        for a in user.committee_assignments
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


@bp.route("/admin/users")
@roles_required(Role.ADMIN)
def users():
    """All users, searchable by e-mail and filterable by role, 25 a page."""
    form = UserSearchForm(request.args)
    form.role.choices = role_choices(blank=_("Any role"))
    stmt = select(User)
    if form.validate():
        if form.q.data:
            like = "%" + form.q.data.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
            stmt = stmt.where(func.lower(User.email).like(like, escape="\\"))
        if form.role.data:
            stmt = stmt.where(User.role == Role(form.role.data))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(_page_arg(), pages)
    rows = db.session.scalars(
        stmt.order_by(User.email).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "auth/users.html", form=form, users=rows, page=page, pages=pages, total=total, args=args
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
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
        except services.InputError as error:
            _apply_input_error(form, error)
        else:
            if result.generated:
                return _no_store(
                    make_response(
                        render_template(
                            "auth/password_shown.html",
                            user=result.user,
                            password=result.generated,
                            created=True,
                        )
                    )
                )
            flash(_("User %(email)s created.", email=result.user.email), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
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
        except services.InputError as error:
            _apply_input_error(form, error)
        else:
            flash(_("Changes to %(email)s saved.", email=user.email), "success")
            return redirect(url_for("auth.users"))
    return render_template(
        "auth/user_form.html",
        form=form,
        user=user,
        confirm_form=ConfirmForm(),
        password_form=SetPasswordForm(),
    )


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
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
    except services.InputError as error:
        flash(error.message, "error")
    else:
        if active:
            flash(_("%(email)s can log in again.", email=user.email), "success")
        else:
            flash(
                _("%(email)s is deactivated and logged out everywhere.", email=user.email),
                "success",
            )
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@roles_required(Role.ADMIN)
def user_reset_password(user_id: int):
    """Give a user a new password (chosen, or generated and shown once); their sessions end."""
    user = _load_user(user_id)
    form = SetPasswordForm()
    if not form.validate_on_submit():
        for error in form.password.errors:
            flash(error, "error")
        return redirect(url_for("auth.user_edit", user_id=user.id))
    result = services.set_password(
        db.session, user.id, form.password.data or None, must_change_password=True
    )
    if result.generated:
        return _no_store(
            make_response(
                render_template(
                    "auth/password_shown.html",
                    user=user,
                    password=result.generated,
                    created=False,
                )
            )
        )
    flash(_("The password of %(email)s is changed.", email=user.email), "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))


# --- institutions (admin) ---------------------------------------------------------------------


@bp.route("/admin/institutions")
@roles_required(Role.ADMIN)
def institutions():
    """All institutions with their number of programmes and staff accounts."""
    programmes = (
        select(func.count(Programme.id))
        .where(Programme.institution_id == Institution.id)
        .scalar_subquery()
    )
    staff = (
        select(func.count(User.id)).where(User.institution_id == Institution.id).scalar_subquery()
    )
    rows = db.session.execute(
        select(Institution, programmes, staff).order_by(Institution.code)
    ).all()
    return render_template("auth/institutions.html", rows=rows)


@bp.route("/admin/institutions/new", methods=["GET", "POST"])
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
        except services.InputError as error:
            _apply_input_error(form, error)
        else:
            flash(_("Institution %(code)s created.", code=institution.code), "success")
            return redirect(url_for("auth.institutions"))
    return render_template("auth/institution_form.html", form=form, institution=None)


@bp.route("/admin/institutions/<int:institution_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def institution_edit(institution_id: int):
    """Change an institution's code, name or privacy notice."""
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        abort(404)
    form = InstitutionForm(obj=institution)
    if form.validate_on_submit():
        try:
            services.update_institution(
                db.session,
                institution.id,
                code=form.code.data,
                name=form.name.data,
                privacy_notice=form.privacy_notice.data,
            )
        except services.InputError as error:
            _apply_input_error(form, error)
        else:
            flash(_("Changes to %(code)s saved.", code=institution.code), "success")
            return redirect(url_for("auth.institutions"))
    return render_template("auth/institution_form.html", form=form, institution=institution)


# --- audit log ---------------------------------------------------------------------------------


@bp.route("/audit")
@roles_required(Role.ADMIN, Role.STAFF)
def audit_log():
    """The audit trail: everything for admins, one's own institution for staff."""
    scope = institution_scope()
    form = AuditFilterForm(request.args)
    actions = event_actions(db.session, institution_id=scope)
    form.action.choices = [SelectChoice("", _("Any action"))] + [
        SelectChoice(a, a) for a in actions
    ]
    filters = {}
    if form.validate():
        filters = {
            "action": form.action.data or None,
            "actor": form.actor.data or None,
            "date_from": form.date_from.data,
            "date_to": form.date_to.data,
        }
    result = list_events(
        db.session, institution_id=scope, page=_page_arg(), per_page=AUDIT_PER_PAGE, **filters
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/log.html", form=form, result=result, args=args)


# --- committee ---------------------------------------------------------------------------------


@bp.route("/committee")
@roles_required(Role.COMMITTEE)
def committee_home():
    """The programmes assigned to a committee member, with aggregated response counts only."""
    user = g.user
    programme_ids = services.assigned_programme_ids(db.session, user)
    programmes = (
        db.session.scalars(
            select(Programme)
            .where(Programme.id.in_(programme_ids))
            .join(Institution)
            .order_by(Institution.code, Programme.code)
        ).all()
        if programme_ids
        else []
    )
    rows = services.committee_response_counts(db.session, user)
    return render_template(
        "auth/committee_home.html",
        programmes=programmes,
        rows=rows,
        min_n=services.MIN_GROUP_SIZE,
    )
