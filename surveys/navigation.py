"""The main menu: which links each role sees."""

from __future__ import annotations

from flask import Flask, g
from flask_babel import lazy_gettext as _l

#: (endpoint, label, roles that see it); links whose endpoint is not registered are skipped.
MENU = (
    ("registry.overview", _l("Registry"), {"staff", "admin"}),
    ("registry.import_upload", _l("Import"), {"staff", "admin"}),
    ("campaigns.index", _l("Campaigns"), {"staff", "admin"}),
    ("instruments.index", _l("Instruments"), {"staff", "admin"}),
    ("admin.users", _l("Users"), {"admin"}),
    ("admin.institutions", _l("Institutions"), {"admin"}),
    ("admin.enterprises", _l("Enterprises"), {"admin"}),
    ("indicators.settings", _l("Indicator settings"), {"staff", "admin"}),
    ("audit.log", _l("Audit log"), {"staff", "admin"}),
    ("jobs.index", _l("Background jobs"), {"staff", "admin"}),
    ("dashboard.committee_home", _l("Programmes under review"), {"committee"}),
    ("dashboard.overview", _l("Indicators"), {"staff", "admin", "committee"}),
    ("reports.index", _l("Yearly report"), {"staff", "admin", "committee"}),
    ("api.tokens", _l("API tokens"), {"staff", "admin", "committee"}),
    ("auth.change_password", _l("My password"), {"staff", "admin", "committee"}),
)


def setup_navigation(app: Flask) -> None:
    """Give every template ``nav_links``: the menu entries the logged-in user's role may open."""

    @app.context_processor
    def navigation():
        user = g.get("user")
        if user is None:
            return {"nav_links": []}
        endpoints = set(app.view_functions)
        links = [(e, label) for e, label, roles in MENU if user.role in roles and e in endpoints]
        return {"nav_links": links}
