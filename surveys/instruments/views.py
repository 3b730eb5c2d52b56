"""Read-only staff pages: the instruments, their versions and each version's structure."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import get_locale

from surveys.auth.access import roles_required
from surveys.extensions import db
from surveys.instruments.definitions import iter_items, numeric_items, text
from surveys.instruments.services import get_version, list_instruments

bp = Blueprint("instruments", __name__, url_prefix="/instruments")


@bp.route("/")
@roles_required("staff", "admin")
def index():
    """Every instrument with its published versions."""
    return render_template(
        "instruments/index.html",
        instruments=list_instruments(db.session),
        count_items=lambda d: sum(1 for _ in iter_items(d)),
        count_numeric=lambda d: len(numeric_items(d)),
        language=str(get_locale()),
        text=text,
    )


@bp.route("/<key>/v<int:version>")
@roles_required("staff", "admin")
def show(key: str, version: int):
    """The structure of one version (sections, items, scales) in the page's language."""
    found = get_version(db.session, key, version)
    if found is None:
        abort(404)
    return render_template(
        "instruments/show.html",
        version=found,
        definition=found.definition,
        language=str(get_locale()),
        text=text,
    )
