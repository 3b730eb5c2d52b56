"""Report builds as background jobs: the page queues one, the job page shows its progress
and offers the file; a finished report is kept (its job and result file are never purged)
until a newer report of the same scope, year, format and language replaces it."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from surveys.jobs.kinds import JobContext, JobFailed, job_kind
from surveys.jobs.models import Job, JobFile, JobState
from surveys.reports.services import (
    FORMATS,
    LANGUAGE_NAMES,
    build_report,
    scope_from_params,
)

#: The job kind of report builds.
REPORT_JOB = "reports.build"
#: Seconds an RQ worker allows one build (a national institution's PDF takes minutes).
REPORT_TIMEOUT = 1800

#: The parameters that make two reports "the same report" (a newer one replaces the older).
_SAME = ("key", "year", "format", "lang", "committee")


def describe_report(params: dict[str, Any]) -> str:
    """ "Yearly report 2025: TDTU (PDF document, English)"."""
    return _(
        "Yearly report %(year)s: %(scope)s (%(format)s, %(lang)s)",
        year=params["year"],
        scope=params["key"],
        format=str(FORMATS[params["format"]].label),
        lang=LANGUAGE_NAMES.get(params["lang"], params["lang"]),
    )


def same_report(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(name) == b.get(name) for name in _SAME)


def replace_older_reports(session: Session, job_id: int, user_id: int | None) -> int:
    """Delete the reports that the report of job ``job_id`` replaces: finished builds of the
    same scope, year, format and language (succeeded, and failed or cancelled tries; a
    committee member's only their own). Returns how many were deleted."""
    job = session.get(Job, job_id)
    if job is None:
        return 0
    stmt = select(Job).where(
        Job.kind == REPORT_JOB,
        Job.state.in_([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]),
        Job.institution_id == job.institution_id,
        Job.id < job.id,
    )
    if job.params.get("committee"):
        stmt = stmt.where(Job.user_id == user_id)
    older = [j.id for j in session.scalars(stmt) if same_report(j.params, job.params)]
    if older:
        session.execute(delete(JobFile).where(JobFile.job_id.in_(older)))
        session.execute(
            delete(Job).where(Job.id.in_(older)).execution_options(synchronize_session=False)
        )
    return len(older)


@job_kind(
    REPORT_JOB,
    label=_l("Yearly report"),
    describe=describe_report,
    result_template="reports/_job_result.html",
    keep=True,
    timeout=REPORT_TIMEOUT,
)
def run_report(ctx: JobContext) -> dict[str, Any]:
    """Build the report of the job's scope, attach it, and retire the one it replaces."""
    from surveys.charts.export import ChartTimeout  # kaleido only where reports are built

    try:
        scope = scope_from_params(ctx.session, ctx.params)
    except LookupError:
        raise JobFailed(_("The institution of this report no longer exists.")) from None
    if not scope.programmes:
        raise JobFailed(_("The programmes of this report no longer exist."))
    try:
        with force_locale(scope.lang):
            built = build_report(ctx.session, scope, progress=ctx.progress)
    except ChartTimeout:
        raise JobFailed(
            _(
                "The charts could not be drawn in time (the chart browser did not answer "
                "and was restarted). Nothing was kept; try again."
            )
        ) from None
    ctx.attach_result_file(built.filename, built.content_type, built.data)
    replace_older_reports(ctx.session, ctx.job_id, ctx.user_id)
    return built.summary()
