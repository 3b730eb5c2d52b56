"""Hamkor: employers assess the graduates they hire; institutions turn it into indicators."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

from flask import Flask, g, make_response, render_template, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from surveys.config import load_config
from surveys.extensions import babel, csrf, db, limiter, ping_idle_connections

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
    "reports",
    "jobs",
    "api",
)

#: Endpoints that serve the same file to everyone: browsers may cache them, logged in or not.
#: plotly.js (4.8 MB) is one: its URL carries its version and it is cached for a year; as
#: ``no-store`` a committee member's browser fetched and compiled it again for every page.
CACHEABLE_ENDPOINTS = frozenset({"static", "favicon", "charts.plotly_js"})


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
    from surveys.web import HamkorFlask

    app = HamkorFlask(__name__, template_folder=_template_folder(), instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path, config))

    import surveys.models  # noqa: F401  (register every model on the metadata)
    from surveys.i18n import select_locale, setup_i18n
    from surveys.jobs.backends import init_jobs
    from surveys.logs import setup_logging
    from surveys.navigation import setup_navigation
    from surveys.web import HamkorRequest, IdConverter, LazyBuilderRule, TextConverter

    _trust_proxies(app)

    # before any route is added: every <int:…> only matches ids an Integer column can hold
    app.url_map.converters["int"] = IdConverter
    # … and no <name> matches control characters; parameters arrive cleaned (surveys.web)
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter
    app.request_class = HamkorRequest
    app.url_rule_class = LazyBuilderRule
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    setup_i18n(app)
    setup_navigation(app)
    setup_logging(app)

    for feature in FEATURES:
        app.register_blueprint(import_module(f"surveys.{feature}.views").bp)
    init_jobs(app, FEATURES)

    # browsers ask for /favicon.ico on their own (a PDF or CSV opened in a tab): no 404s
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    _register_transaction_boundary(app)
    _register_security_headers(app)
    _register_error_pages(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``HAMKOR_TRUSTED_PROXIES`` proxies (nginx: 1), take the client's address and
    scheme from their ``X-Forwarded-For``/``-Proto``, so rate limits and the audit trail see
    the real client; with 0 (the default) those headers are ignored, as anyone can send them.
    """
    hops = int(app.config.get("HAMKOR_TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


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
    """Headers that keep personal links out of referrers, pages out of frames and caches."""

    security = [
        (
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]
    if app.config.get("SESSION_COOKIE_SECURE"):
        security.append(("Strict-Transport-Security", "max-age=31536000"))

    @app.after_request
    def security_headers(response):
        headers = response.headers
        if g.get("user") is not None and request.endpoint not in CACHEABLE_ENDPOINTS:
            # every page a logged-in user sees may hold personal data (registry lists, the
            # audit trail, users): no browser history, back button or proxy may keep a copy
            headers["Cache-Control"] = "no-store"
        # one pass over the headers set so far, then the missing ones added (setdefault
        # scans the list again for each)
        present = {name.lower() for name, _ in headers}
        headers.extend((name, value) for name, value in security if name.lower() not in present)
        return response


def _register_error_pages(app: Flask) -> None:
    """Every error gets a page in the user's language, with the menu and a way back.

    An error can stop a request before the logged-in user is loaded (a "file too large" or a
    CSRF refusal happens while the form is read, before any view); the page loads the user
    itself, so the menu and the account stay in the header.
    """

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
            return {"error": exc.name, "message": exc.description}, exc.code
        response = _error_page(exc, exc.code or 500)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return _error_page(None, 500)


def _error_page(error: HTTPException | None, status: int):
    """``errors.html`` for ``error`` (None: an unexpected failure), as the user's page."""
    from surveys.auth.access import load_logged_in_user

    try:
        if g.get("user") is None:
            load_logged_in_user()
        page = render_template("errors.html", **_error_context(error), back=_way_back())
    except Exception:  # the database itself may be what failed: a page without the user
        db.session.rollback()
        g.user = None
        page = render_template("errors.html", **_error_context(error), back=None)
    return make_response(page, status)


def _error_context(error: HTTPException | None) -> dict[str, Any]:
    from flask_wtf.csrf import CSRFError

    return {
        "error": error,
        "code": 500 if error is None else error.code,
        "csrf": isinstance(error, CSRFError),
        "message": _own_message(error),
    }


def _way_back() -> dict[str, str | None]:
    """Where the error page leads: back to the form that was sent, and home.

    A failed POST to an address that also shows a page (the import form, the login form, a
    survey link) leads back to that page. The start page is offered except on an employer's
    personal link, where it would only show a login form.
    """
    rule = request.url_rule
    form = None
    if request.method not in ("GET", "HEAD") and rule is not None and "GET" in rule.methods:
        form = request.path
    home = None if request.blueprint == "responses" else url_for("auth.index")
    return {"form": form, "home": home}


def _own_message(error: HTTPException | None) -> str | None:
    """The explanation the app gave when it raised ``error`` (already in the user's language),
    or None for Werkzeug's built-in English one, which the page replaces with its own."""
    if error is None or error.description == type(error).description:
        return None
    return str(error.description)
