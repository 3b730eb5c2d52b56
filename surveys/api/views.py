"""The JSON API (``/api/…``) and the page where users manage their personal API tokens.

The API authenticates by itself — a bearer token, or the browser session of a logged-in
user — and answers 401 rather than redirecting to the login page; ``auth`` stays free of
it. Errors are JSON: ``{"error": …, "message": …}``.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.http import HTTP_STATUS_CODES

from surveys.api import tokens as token_service
from surveys.api.forms import NewTokenForm, RevokeTokenForm
from surveys.api.openapi import openapi_document
from surveys.api.services import ApiProblem, indicators_answer
from surveys.auth.access import roles_required
from surveys.auth.models import Role, User
from surveys.extensions import db
from surveys.orm import utcnow
from surveys.web import apply_input_error, no_store

bp = Blueprint("api", __name__)

LANGUAGES = ("uz", "ru", "en")


def _problem(status: int, message: str, **headers: str):
    response = jsonify(error=HTTP_STATUS_CODES.get(status, "Error"), message=message)
    response.status_code = status
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _unauthorized(message: str, error: str | None = None):
    challenge = 'Bearer realm="hamkor"' + (f', error="{error}"' if error else "")
    return _problem(401, message, **{"WWW-Authenticate": challenge})


def _caller() -> User | None:
    """The user of a valid bearer token, else of the session; None when neither."""
    header = request.headers.get("Authorization")
    if header is None:
        return g.get("user")
    scheme, _sep, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return token_service.authenticate(db.session, credentials)


def _language() -> str:
    wanted = request.args.get("lang")
    if wanted is not None:
        return wanted
    return request.accept_languages.best_match(LANGUAGES) or "en"


@bp.route("/api/indicators")
def indicators():
    """``GET /api/indicators?institution=CODE&year=Y[&programme=CODE][&lang=uz|ru|en]``."""
    user = _caller()
    if user is None:
        if request.headers.get("Authorization") is not None:
            return _unauthorized("the token is unknown, revoked or expired", "invalid_token")
        return _unauthorized("send a personal API token: Authorization: Bearer hamkor_…")
    institution = (request.args.get("institution") or "").strip()
    if not institution:
        return _problem(400, "the institution parameter (an institution code) is required")
    raw_year = (request.args.get("year") or "").strip()
    if not raw_year:
        return _problem(400, "the year parameter (a graduation year) is required")
    if not (raw_year.isascii() and raw_year.isdigit() and 1950 <= int(raw_year) <= 2100):
        return _problem(400, f"year {raw_year!r} is not a graduation year (1950–2100)")
    programme = request.args.get("programme")
    if programme is not None:
        programme = programme.strip() or None
    lang = _language()
    if lang not in LANGUAGES:
        return _problem(400, f"lang must be one of {', '.join(LANGUAGES)}")
    try:
        answer = indicators_answer(
            db.session,
            user,
            institution_code=institution,
            year=int(raw_year),
            programme_code=programme,
            lang=lang,
        )
    except ApiProblem as problem:
        return _problem(problem.status, problem.message)
    # the record fields in the contract's order (jsonify would sort them), UTF-8 text as is
    response = current_app.response_class(
        json.dumps(answer, ensure_ascii=False), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Authorization, Cookie, Accept-Language"
    return response


@bp.route("/api/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of the API (public: it holds no data)."""
    try:
        version = package_version("hamkor")
    except PackageNotFoundError:  # a source checkout that was never installed
        version = "0"
    base = current_app.config.get("HAMKOR_BASE_URL", request.host_url).rstrip("/")
    return jsonify(openapi_document(base, version))


# --- the user's own tokens ---------------------------------------------------------------


def _tokens_page(form: NewTokenForm, *, created: str | None = None, status: int = 200):
    response = current_app.make_response(
        (
            render_template(
                "api/tokens.html",
                form=form,
                revoke_form=RevokeTokenForm(),
                tokens=token_service.user_tokens(db.session, g.user),
                created=created,
                now=utcnow(),
            ),
            status,
        )
    )
    return no_store(response)  # the new token is on this page, once


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.COMMITTEE)
def tokens():
    """List the user's API tokens and create one (its text is shown once, on this answer)."""
    form = NewTokenForm()
    if form.validate_on_submit():
        try:
            _token, text = token_service.create_token(
                db.session, g.user, name=form.name.data, lifetime_days=form.lifetime_days()
            )
        except token_service.TokenError as error:
            apply_input_error(form, error)
            return _tokens_page(form, status=422)
        return _tokens_page(NewTokenForm(formdata=None), created=text)
    return _tokens_page(form, status=400 if request.method == "POST" else 200)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.COMMITTEE)
def revoke(token_id: int):
    """Revoke one of the user's tokens: scripts using it get 401 from now on."""
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        return _tokens_page(NewTokenForm(formdata=None), status=400)
    try:
        token = token_service.revoke_token(db.session, g.user, token_id)
    except LookupError:
        return _tokens_page(NewTokenForm(formdata=None), status=404)
    flash(_("Token “%(name)s” revoked.", name=token.name), "success")
    return redirect(url_for("api.tokens"))
