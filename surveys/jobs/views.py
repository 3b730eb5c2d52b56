"""Job pages: the list, one job's progress (with a JSON endpoint to poll), its file, retry.

Every feature that starts a job redirects (303) to :func:`show`; the page polls
:func:`status` from ``static/jobs.js`` and reloads itself when the job has finished, when it
shows the kind's result template. Without JavaScript it refreshes itself every few seconds.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError

from surveys.auth.access import roles_required
from surveys.extensions import db
from surveys.jobs import services
from surveys.jobs.kinds import get_kind
from surveys.jobs.models import FilePurpose, Job, JobState
from surveys.orm import utcnow
from surveys.web import no_store, page_arg

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

#: Jobs listed per page.
PER_PAGE = 30

ROLES = ("admin", "staff", "committee")

#: A job queued longer than this gets a hint that no worker may be running.
WAITING_HINT_SECONDS = 60

STATE_LABELS = {
    JobState.QUEUED: _l("Waiting to start"),
    JobState.RUNNING: _l("Running"),
    JobState.SUCCEEDED: _l("Finished"),
    JobState.FAILED: _l("Failed"),
    JobState.CANCELLED: _l("Cancelled"),
}


@bp.app_context_processor
def job_state_labels() -> dict:
    """``job_state_labels``: each job state in words, for any feature's template."""
    return {"job_state_labels": STATE_LABELS}


def status_payload(job: Job) -> dict:
    """The job's status for the page and the JSON endpoint, with a line for people."""
    payload = services.job_status(job)
    label = str(STATE_LABELS[job.state])
    if job.state == JobState.RUNNING:
        if job.progress_message:
            label = f"{label}: {job.progress_message}"
        if job.progress_total:
            label += " — " + _(
                "%(done)s of %(total)s",
                done=format_number(job.progress_done),
                total=format_number(job.progress_total),
            )
        if job.cancel_requested:
            label += " — " + _("stopping")
    payload["label"] = label
    waited = (utcnow() - job.queued_at).total_seconds()
    payload["waiting"] = job.state == JobState.QUEUED and waited > WAITING_HINT_SECONDS
    payload["url"] = url_for("jobs.show", job_id=job.id)
    return payload


def _reap() -> None:
    """Fail jobs whose worker died, before showing any (best effort: a SQLite database that
    a running job holds locked is left alone until the next look)."""
    try:
        services.reap_dead_jobs(db.session)
    except OperationalError:
        db.session.rollback()


def _job(job_id: int) -> Job:
    """The job if the user may see it; 404 otherwise (whether it exists is nobody's business)."""
    _reap()
    job = services.job_for(db.session, job_id, g.user)
    if job is None:
        abort(404)
    return job


@bp.route("/")
@roles_required(*ROLES)
def index():
    """The jobs the user may see, newest first: staff their institution's, admins all."""
    _reap()
    page = db.paginate(
        services.jobs_for(db.session, g.user), page=page_arg(), per_page=PER_PAGE, error_out=False
    )
    return no_store(
        Response(
            render_template(
                "jobs/index.html",
                page=page,
                kind_of=get_kind,
                JobState=JobState,
            )
        )
    )


@bp.route("/<int:job_id>")
@roles_required(*ROLES)
def show(job_id: int):
    """One job: progress while it runs, then its result (or why it failed)."""
    job = _job(job_id)
    kind = get_kind(job.kind)
    html = render_template(
        "jobs/show.html",
        job=job,
        kind=kind,
        title=kind.title(job.params) if kind else job.kind,
        status=status_payload(job),
        input_file=services.job_file(db.session, job, FilePurpose.INPUT),
        result_file=services.job_file(db.session, job, FilePurpose.RESULT),
        can_retry=services.can_retry(job),
        JobState=JobState,
    )
    return no_store(Response(html))


@bp.route("/<int:job_id>/status")
@roles_required(*ROLES)
def status(job_id: int):
    """The job's progress as JSON (polled by the job page every second or two)."""
    return no_store(jsonify(status_payload(_job(job_id))))


@bp.route("/<int:job_id>/file")
@roles_required(*ROLES)
def download(job_id: int):
    """The job's result file (a report, an export)."""
    job = _job(job_id)
    stored = services.job_file(db.session, job, FilePurpose.RESULT)
    if job.state != JobState.SUCCEEDED or stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=stored.filename)
    return no_store(response)


@bp.route("/<int:job_id>/retry", methods=["POST"])
@roles_required(*ROLES)
def retry(job_id: int):
    """Try a failed or cancelled job again, on the same page."""
    job = _job(job_id)
    if not services.can_retry(job):
        flash(_("Only a failed or cancelled job can be tried again."), "warning")
    else:
        services.retry_job(db.session, job)
        flash(_("The job is queued again."), "success")
    return redirect(url_for("jobs.show", job_id=job.id), code=303)


@bp.route("/<int:job_id>/cancel", methods=["POST"])
@roles_required(*ROLES)
def cancel(job_id: int):
    """Cancel a queued job, or ask a running one to stop (nothing it did is kept)."""
    job = _job(job_id)
    if job.state.finished:
        flash(_("The job has already finished."), "warning")
    else:
        services.cancel_job(db.session, job)
        flash(_("The job will stop; nothing it did is kept."), "success")
    return redirect(url_for("jobs.show", job_id=job.id), code=303)
