"""Hamkor: employers assess the graduates they hire; institutions turn it into indicators."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from surveys.config import load_config
from surveys.extensions import babel, csrf, db, limiter

#: Feature packages whose ``views.bp`` blueprint is registered, in this order.
FEATURES = (
    "auth",
    "admin",
    "audit",
    "registry",
    "instruments",
    "campaigns",
    "responses",
    "indicators",
    "charts",
    "dashboard",
    "api",
)


def _template_folder() -> str:
    """``templates/`` inside the installed wheel, or the top-level one in a source checkout."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return str(packaged)
    return str(Path(__file__).parent.parent / "templates")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the Hamkor Flask application.

    ``config`` overrides the settings read from the ``HAMKOR_*`` environment variables
    (tests pass ``SQLALCHEMY_DATABASE_URI``, ``SECRET_KEY``, ``TESTING``).
    """
    app = Flask(__name__, template_folder=_template_folder(), instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path, config))

    import surveys.models  # noqa: F401  (register every model on the metadata)
    from surveys.i18n import select_locale, setup_i18n
    from surveys.navigation import setup_navigation

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    setup_i18n(app)
    setup_navigation(app)

    for feature in FEATURES:
        app.register_blueprint(import_module(f"surveys.{feature}.views").bp)

    _register_transaction_boundary(app)
    _register_security_headers(app)
    _register_error_pages(app)
    return app


def _register_transaction_boundary(app: Flask) -> None:
    """One commit per request: services only flush; the request commits once, or rolls back."""

    @app.after_request
    def commit_session(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def rollback_on_error(exc: BaseException | None) -> None:
        if exc is not None:
            db.session.rollback()


def _register_security_headers(app: Flask) -> None:
    """Headers that keep personal links out of referrers and pages out of frames."""

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _register_error_pages(app: Flask) -> None:
    """Every HTTP error gets a page in the user's language, never a bare traceback."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
            return {"error": exc.name, "message": exc.description}, exc.code
        return render_template("errors.html", error=exc), exc.code

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_template("errors.html", error=None), 500
