"""The pages committees and staff read: overview, programme, comparison, partnerships.

Views read the request, call one service and render; access is the service's
:class:`~surveys.dashboard.scope.OutOfScope` (403) on top of the role check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from surveys.auth.access import roles_required
from surveys.auth.models import Role
from surveys.dashboard import campaign_rates, methodology, partnerships, services
from surveys.dashboard.scope import OutOfScope
from surveys.extensions import db
from surveys.web import page_arg

bp = Blueprint("dashboard", __name__)

READERS = (Role.COMMITTEE, Role.STAFF, Role.ADMIN)
CAMPAIGN_STATUS_NAMES = {"draft": _l("draft"), "open": _l("open"), "closed": _l("closed")}


def _language() -> str:
    return str(get_locale())


def _call(service: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a page service; a scope refusal is 403, an unknown institution or programme 404."""
    try:
        return service(db.session, g.user, *args, **kwargs)
    except OutOfScope:
        abort(403)
    except LookupError:
        abort(404)


@bp.route("/committee")
@roles_required(Role.COMMITTEE)
def committee_home():
    """The committee member's entry: assignments grouped by institution, links to pages."""
    return render_template(
        "dashboard/committee_home.html",
        institutions=_call(services.reader_home, _language()),
    )


@bp.route("/dashboard")
@roles_required(*READERS)
def overview():
    """Per programme of a graduation year: the headline indicators with their intervals."""
    filters = services.Filters.from_args(request.args)
    page = _call(services.overview_page, filters, _language(), page_arg())
    return render_template("dashboard/overview.html", page=page)


@bp.route("/dashboard/programmes/<int:programme_id>")
@roles_required(*READERS)
def programme(programme_id: int):
    """One programme: domain scores, answers per item, trends, outcomes, reliability."""
    filters = services.Filters.from_args(request.args)
    page = _call(services.programme_page, programme_id, filters, _language())
    return render_template("dashboard/programme.html", page=page)


@bp.route("/dashboard/compare")
@roles_required(*READERS)
def compare():
    """Programmes × domains of one institution, year and instrument."""
    filters = services.Filters.from_args(request.args)
    page = _call(services.heatmap_page, filters, _language())
    return render_template("dashboard/compare.html", page=page)


@bp.route("/dashboard/partnerships")
@roles_required(*READERS)
def partnership_evidence():
    """Per programme: partner enterprises by kind of agreement, interns, employed, assessed."""
    filters = services.Filters.from_args(request.args)
    page = _call(
        partnerships.partnership_page,
        institution_code=filters.institution,
        year=filters.year,
    )
    return render_template("dashboard/partnerships.html", page=page)


@bp.route("/dashboard/response-rates")
@roles_required(Role.STAFF, Role.ADMIN)
def response_rates():
    """Staff: invited, submitted and the response rate of every campaign, per day."""
    campaign = request.args.get("campaign", "")
    page = _call(
        campaign_rates.campaign_rates_page,
        institution_code=request.args.get("institution") or None,
        campaign_id=int(campaign) if campaign.isdigit() else None,
        language=_language(),
        timezone=current_app.config["HAMKOR_TIMEZONE"],
    )
    return render_template("dashboard/response_rates.html", page=page)


@bp.route("/dashboard/methodology")
@roles_required(*READERS)
def methodology_page():
    """How the numbers are made, in plain words (docs/methodology.md, rendered)."""
    return render_template("dashboard/methodology.html", document=methodology.rendered(_language()))


@bp.context_processor
def page_helpers():
    """What the dashboard's templates format records and registry kinds with."""
    from flask_babel import format_date

    from surveys.charts import present
    from surveys.registry.labels import AGREEMENT_KIND_NAMES, PROGRAMME_LEVEL_NAMES

    return {
        "present": present,
        "format_date": format_date,
        "status_names": CAMPAIGN_STATUS_NAMES,
        "level_names": PROGRAMME_LEVEL_NAMES,
        "agreement_kind_names": AGREEMENT_KIND_NAMES,
    }
