"""The audit log page: everything for admins, one's own institution for staff."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from surveys.audit.forms import AuditFilterForm
from surveys.audit.services import details_for_display, event_actions, list_events
from surveys.auth.access import institution_scope, roles_required
from surveys.auth.models import Role
from surveys.extensions import db
from surveys.web import page_arg

bp = Blueprint("audit", __name__)
bp.add_app_template_filter(details_for_display, "audit_details")

#: Events per page.
PER_PAGE = 50


@bp.route("/audit")
@roles_required(Role.ADMIN, Role.STAFF)
def log():
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
        db.session, institution_id=scope, page=page_arg(), per_page=PER_PAGE, **filters
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit/log.html", form=form, result=result, args=args)
