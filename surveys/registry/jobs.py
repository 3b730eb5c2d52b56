"""Registry imports as background jobs: the upload page queues one, the job page shows it.

The uploaded file is stored with the job (in the database, so the worker that claims it
can read it on any host) and run through the same pipeline as ``hamkor import``
(:func:`surveys.registry.imports.import_registry_file`). "Check only" is a dry run; its
result page offers to import the very file that was checked, which is copied to the new
job inside the database.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from surveys.jobs.kinds import JobContext, JobFailed, job_kind
from surveys.registry.columns import IMPORT_KINDS
from surveys.registry.imports import SHOWN_ERRORS, ImportConflict, import_registry_file
from surveys.registry.models import Institution

log = logging.getLogger(__name__)

#: The job kind of registry imports (checks and writes).
IMPORT_JOB = "registry.import"


def describe_import(params: dict[str, Any]) -> str:
    """ "Check of graduates.csv (Graduates)" or "Import of graduates.csv (Graduates)"."""
    kind = IMPORT_KINDS[params["kind"]].label
    if params["dry_run"]:
        return _("Check of %(file)s (%(kind)s)", file=params["filename"], kind=kind)
    return _("Import of %(file)s (%(kind)s)", file=params["filename"], kind=kind)


def import_params(institution: Institution, kind: str, filename: str, *, dry_run: bool) -> dict:
    """The parameters of an import job (plain values: the job may run on another host)."""
    return {
        "institution_id": institution.id,
        "kind": kind,
        "filename": filename[:255],
        "dry_run": dry_run,
    }


@job_kind(
    IMPORT_JOB,
    label=_l("Registry import"),
    describe=describe_import,
    result_template="registry/_import_result.html",
)
def run_import(ctx: JobContext) -> dict[str, Any]:
    """Check, and unless it is a dry run write, the job's uploaded file."""
    params = ctx.params
    institution = ctx.session.get(Institution, params["institution_id"])
    if institution is None:
        raise JobFailed(_("The institution of this import no longer exists."))
    stored = ctx.input_file()
    if stored is None:
        raise JobFailed(_("The uploaded file is no longer kept. Upload it again."))
    try:
        result = import_registry_file(
            ctx.session,
            institution,
            params["kind"],
            stored.data,
            params["filename"],
            dry_run=params["dry_run"],
            max_rows=current_app.config["HAMKOR_IMPORT_MAX_ROWS"],
            progress=ctx.progress,
        )
    except (ImportConflict, SQLAlchemyError) as exc:
        log.warning("registry import of job %s refused by the database: %s", ctx.job_id, exc)
        raise JobFailed(
            _(
                "The database refused the import and nothing was written. Another import "
                "may have changed the same rows at the same time: please try again."
            )
        ) from exc
    payload = result.as_dict()
    payload["error_list"] = payload["error_list"][:SHOWN_ERRORS]  # what the page shows
    return payload
