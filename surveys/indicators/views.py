"""The indicator settings page of an institution (its staff, or an administrator)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from analysis.presentation import format_value, indicator_name
from surveys.auth.access import institution_scope, roles_required
from surveys.auth.models import Role
from surveys.extensions import db
from surveys.indicators.forms import SettingsForm
from surveys.indicators.settings import (
    PRIVACY_FLOOR,
    SettingsConflict,
    SettingsError,
    current_settings,
    settings_history,
    update_settings,
)
from surveys.registry import services as registry_services
from surveys.registry.models import Institution
from surveys.web import apply_input_error

bp = Blueprint("indicators", __name__, url_prefix="/indicators")


def _institution() -> Institution | None:
    """Staff: their own institution; admins: the ``institution`` argument (or the first)."""
    scope = institution_scope(request.args.get("institution", type=int))
    if scope is None:
        choices = registry_services.institutions(db.session)
        return choices[0] if choices else None
    institution = db.session.get(Institution, scope)
    if institution is None:
        abort(404)
    return institution


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def settings():
    """Show and change the institution's indicator settings; every change is a new version."""
    institution = _institution()
    if institution is None:
        return render_template("registry/no_institution.html")
    current = current_settings(db.session, institution.id)
    form = SettingsForm()
    status = 200
    if form.validate_on_submit():
        values = form.values()
        # targets of single domains (set from the command line) are kept as they are
        values["targets"].update({k: v for k, v in current.targets.items() if ":" in k})
        try:
            saved = update_settings(
                db.session,
                institution.id,
                expected_version=form.expected_version(),
                **values,
            )
        except SettingsConflict as conflict:
            # keep what the user typed, show what is in force now, and let them save again
            flash(conflict.message, "error")
            current = current_settings(db.session, institution.id)
            form.version.data = str(current.version)
            status = 409
        except SettingsError as error:
            if error.field.startswith("target:"):
                error.field = "target_" + error.field.removeprefix("target:")
            apply_input_error(form, error)
            status = 422
        else:
            if saved.version == current.version:
                flash(_("Nothing changed: the settings are as they were."), "success")
            else:
                flash(
                    _(
                        "Settings saved as version %(version)d. Indicators are recomputed "
                        "with them from now on.",
                        version=saved.version,
                    ),
                    "success",
                )
            args = {"institution": institution.id} if g.user.role == Role.ADMIN else {}
            return redirect(url_for("indicators.settings", **args))
    elif request.method == "POST":
        status = 400
    else:
        form.fill(current)
    lang = str(get_locale())
    return (
        render_template(
            "indicators/settings.html",
            institution=institution,
            form=form,
            current=current,
            history=settings_history(db.session, institution.id),
            target_names={
                name: indicator_name(name, lang) for name, _field, _unit in form.target_fields()
            },
            domain_targets={k: v for k, v in current.targets.items() if ":" in k},
            show_target=lambda key, value: format_value(key.partition(":")[0], value, lang),
            privacy_floor=PRIVACY_FLOOR,
            institution_choices=registry_services.institutions(db.session)
            if g.user.role == Role.ADMIN
            else [],
            scope_args={"institution": institution.id} if g.user.role == Role.ADMIN else {},
        ),
        status,
    )
