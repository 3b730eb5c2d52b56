"""Login, logout and one's own password; where each role lands."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from surveys.audit.services import record_event
from surveys.auth import services
from surveys.auth.access import load_logged_in_user, roles_required, start_session
from surveys.auth.forms import ROLE_LABELS, ChangePasswordForm, LoginForm
from surveys.auth.models import Role
from surveys.extensions import db, limiter
from surveys.web import apply_input_error

bp = Blueprint("auth", __name__)
bp.before_app_request(load_logged_in_user)


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
        Role.ADMIN: "admin.users",
        Role.STAFF: "registry.overview",
        Role.COMMITTEE: "dashboard.committee_home",
    }
    endpoint = endpoints[role]
    if endpoint not in current_app.view_functions:
        return url_for("auth.index")
    return url_for(endpoint)


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
    return current_app.config["HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT"]


def _account_key() -> str:
    """The (account, client) pair: guessing one account from one address is slowed down,
    while the owner, logging in from anywhere else, is never locked out by someone else's
    wrong passwords."""
    email = (request.form.get("email") or "").strip().lower()
    return f"login-account:{email}|{get_remote_address()}"


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
            apply_input_error(form, error)
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
