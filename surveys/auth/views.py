"""Login, logout and the landing page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from surveys.audit.services import record_event
from surveys.auth.access import load_logged_in_user, start_session
from surveys.auth.forms import LoginForm
from surveys.auth.models import Role
from surveys.auth.services import authenticate
from surveys.extensions import db, limiter

bp = Blueprint("auth", __name__)
bp.before_app_request(load_logged_in_user)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """The login form (fields ``email`` and ``password``)."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong e-mail or password."), "error")
            return render_template("auth/login.html", form=form), 200
        start_session(user)
        return redirect(_safe_next(request.args.get("next")) or home_for(user.role))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session (POST with CSRF token, so no link can log anyone out)."""
    from flask import session

    if g.user is not None:
        record_event(db.session, "auth.logout", obj=g.user)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))
