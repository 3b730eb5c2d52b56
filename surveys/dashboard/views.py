"""The committee's pages: the programmes under review and their statistics."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from surveys.auth.access import roles_required
from surveys.auth.models import Role
from surveys.dashboard import services
from surveys.extensions import db

bp = Blueprint("dashboard", __name__)


@bp.route("/committee")
@roles_required(Role.COMMITTEE)
def committee_home():
    """The programmes assigned to a committee member, with aggregated response counts only."""
    return render_template(
        "dashboard/committee_home.html",
        programmes=services.assigned_programmes(db.session, g.user),
        rows=services.committee_response_counts(db.session, g.user),
        min_n=services.MIN_GROUP_SIZE,
    )
