"""Submitting, finding, retrying and cancelling jobs; services take a session and never commit.

A job submitted here is handed to the backend only once the caller's transaction commits
(:func:`surveys.jobs.backends.dispatch_after_commit`), so no worker ever looks for a job that
is not in the database yet, and a request that rolls back starts nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, delete, insert, literal, or_, select, update
from sqlalchemy.orm import Session, selectinload

from surveys.auth.models import Role, User
from surveys.jobs.backends import dispatch_after_commit
from surveys.jobs.kinds import get_kind
from surveys.jobs.models import FilePurpose, Job, JobFile, JobState
from surveys.orm import utcnow


@dataclass(frozen=True)
class UploadedFile:
    """A file that travels with a job (stored in the database, so every host can read it)."""

    filename: str
    content_type: str
    data: bytes


def submit_job(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    user: User | None = None,
    institution_id: int | None = None,
    input_file: UploadedFile | None = None,
    locale: str | None = None,
) -> Job:
    """Queue a job of a registered ``kind``; it starts once the caller's transaction commits.

    ``user`` started it (None from the command line); ``institution_id`` is whose data it
    touches (its staff may follow it). ``locale`` defaults to the current page language.
    """
    if get_kind(kind) is None:
        raise ValueError(f"no job kind {kind!r} is registered")
    job = Job(
        kind=kind,
        params=params,
        state=JobState.QUEUED,
        locale=locale or str(get_locale() or "en"),
        user_id=user.id if user is not None else None,
        institution_id=institution_id,
    )
    session.add(job)
    session.flush()
    if input_file is not None:
        session.add(
            JobFile(
                job_id=job.id,
                purpose=FilePurpose.INPUT,
                filename=input_file.filename[:255],
                content_type=input_file.content_type[:128],
                size=len(input_file.data),
                data=input_file.data,
            )
        )
        session.flush()
    dispatch_after_commit(session, job)
    return job


def submit_with_input_of(
    session: Session, source: Job, kind: str, params: dict[str, Any], *, user: User | None
) -> Job:
    """Queue a job that works on the file uploaded with ``source`` (e.g. import what was
    checked): the bytes are copied inside the database, never through this process."""
    job = Job(
        kind=kind,
        params=params,
        state=JobState.QUEUED,
        locale=str(get_locale() or source.locale),
        user_id=user.id if user is not None else None,
        institution_id=source.institution_id,
    )
    session.add(job)
    session.flush()
    columns = (
        JobFile.job_id,
        JobFile.purpose,
        JobFile.filename,
        JobFile.content_type,
        JobFile.size,
        JobFile.data,
        JobFile.created_at,
    )
    copied = select(
        literal(job.id),
        JobFile.purpose,
        JobFile.filename,
        JobFile.content_type,
        JobFile.size,
        JobFile.data,
        literal(utcnow(), JobFile.created_at.type),
    ).where(JobFile.job_id == source.id, JobFile.purpose == FilePurpose.INPUT)
    session.execute(insert(JobFile).from_select([c.key for c in columns], copied))
    dispatch_after_commit(session, job)
    return job


def job_file(session: Session, job: Job, purpose: FilePurpose) -> JobFile | None:
    """The job's input or result file, or None (``data`` is read only when used)."""
    return session.scalar(
        select(JobFile).where(JobFile.job_id == job.id, JobFile.purpose == purpose)
    )


def _visible_to(stmt: Select, user: User) -> Select:
    """Admins see every job; staff their institution's; everyone the jobs they started."""
    if user.role == Role.ADMIN:
        return stmt
    own = Job.user_id == user.id
    if user.role == Role.STAFF and user.institution_id is not None:
        return stmt.where(or_(own, Job.institution_id == user.institution_id))
    return stmt.where(own)


def job_for(session: Session, job_id: int, user: User) -> Job | None:
    """Job ``job_id`` if ``user`` may see it (None also when it does not exist)."""
    return session.scalar(_visible_to(select(Job).where(Job.id == job_id), user))


def jobs_for(session: Session, user: User, *, kind: str | None = None) -> Select:
    """The jobs ``user`` may see, newest first (a statement, for ``db.paginate``)."""
    stmt = _visible_to(select(Job), user).order_by(Job.id.desc())
    stmt = stmt.options(selectinload(Job.user), selectinload(Job.institution))
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return stmt


def latest_job(
    session: Session, kind: str, *, institution_id: int | None, state: JobState | None = None
) -> Job | None:
    """The newest job of ``kind`` for an institution (e.g. the last report built)."""
    stmt = select(Job).where(Job.kind == kind, Job.institution_id == institution_id)
    if state is not None:
        stmt = stmt.where(Job.state == state)
    return session.scalar(stmt.order_by(Job.id.desc()).limit(1))


def can_retry(job: Job) -> bool:
    """A failed or cancelled job can be tried again (with the same parameters and file)."""
    return job.state in (JobState.FAILED, JobState.CANCELLED)


def retry_job(session: Session, job: Job) -> Job:
    """Queue a failed or cancelled job again; it keeps its page, parameters and file."""
    if not can_retry(job):
        raise ValueError(f"job {job.id} is {job.state}: only failed or cancelled jobs retry")
    session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state.in_([JobState.FAILED, JobState.CANCELLED]))
        .values(
            state=JobState.QUEUED,
            queued_at=utcnow(),
            error=None,
            result=None,
            worker=None,
            cancel_requested=False,
            progress_done=0,
            progress_total=None,
            progress_message=None,
            started_at=None,
            heartbeat_at=None,
            finished_at=None,
            expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(job)
    dispatch_after_commit(session, job)
    return job


def cancel_job(session: Session, job: Job) -> Job:
    """Cancel a queued job now; ask a running one to stop at its next progress report."""
    if job.state == JobState.QUEUED:
        now = utcnow()
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.state == JobState.QUEUED)
            .values(state=JobState.CANCELLED, finished_at=now, expires_at=_expiry(now))
            .execution_options(synchronize_session=False)
        )
    elif job.state == JobState.RUNNING:
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.state == JobState.RUNNING)
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )
    session.refresh(job)
    return job


def _expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(days=int(current_app.config["HAMKOR_JOB_RETENTION_DAYS"]))


def worker_lost_message() -> str:
    """Why a job whose worker stopped answering failed, for its user."""
    return _(
        "The worker running this job stopped (the server was restarted or the process died). "
        "Nothing it did was kept; you can try again."
    )


def reap_dead_jobs(session: Session, *, timeout: float | None = None) -> int:
    """Mark running jobs whose heartbeat is older than ``timeout`` seconds as failed.

    Their worker died (``kill -9``, a crash, a restart of the server). Each is failed on the
    condition that its heartbeat is still stale, so a worker that was only slow and wrote a
    heartbeat meanwhile keeps its job. Returns how many were marked.
    """
    seconds = timeout if timeout is not None else current_app.config["HAMKOR_JOB_HEARTBEAT_TIMEOUT"]
    cutoff = utcnow() - dt.timedelta(seconds=float(seconds))
    stale = session.execute(
        select(Job.id, Job.locale).where(Job.state == JobState.RUNNING, Job.heartbeat_at < cutoff)
    ).all()
    marked = 0
    for job_id, locale in stale:
        with force_locale(locale or "en"):
            message = worker_lost_message()
        now = utcnow()
        done = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.heartbeat_at < cutoff)
            .values(state=JobState.FAILED, error=message, finished_at=now, expires_at=_expiry(now))
            .execution_options(synchronize_session=False)
        )
        marked += done.rowcount
    if marked:
        session.expire_all()
    return marked


def purge_expired_jobs(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete finished jobs past their ``expires_at``, with their files; returns how many.

    Uploaded registry files hold personal data: they are kept no longer than
    ``HAMKOR_JOB_RETENTION_DAYS`` after their job finished.
    """
    expired = select(Job.id).where(Job.expires_at.is_not(None), Job.expires_at < (now or utcnow()))
    ids = list(session.scalars(expired))
    if not ids:
        return 0
    session.execute(delete(JobFile).where(JobFile.job_id.in_(ids)))
    session.execute(delete(Job).where(Job.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)


def job_status(job: Job) -> dict[str, Any]:
    """What the progress endpoint returns (JSON): enough to draw a progress bar."""
    total = job.progress_total
    percent = None
    if total:
        percent = min(100, int(100 * job.progress_done / total))
    elif job.state == JobState.SUCCEEDED:
        percent = 100
    return {
        "id": job.id,
        "kind": job.kind,
        "state": str(job.state),
        "finished": job.state.finished,
        "done": job.progress_done,
        "total": total,
        "percent": percent,
        "message": job.progress_message,
        "error": job.error,
        "attempts": job.attempts,
    }
