"""The RQ side: what ``hamkor worker`` runs, and the sweep that keeps the queue honest.

RQ forks a "work horse" process per job; :func:`perform` runs in it with the app the
worker created before it started (the horse inherits it), after dropping the database
connections inherited from the parent, which must never be shared by two processes.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask
from rq import Worker
from sqlalchemy import select

from surveys.extensions import db
from surveys.jobs.backends import enqueue, jobs_state, redis_connection, rq_job_id
from surveys.jobs.models import Job, JobState
from surveys.jobs.runner import run_job, worker_name
from surveys.jobs.services import purge_expired_jobs, reap_dead_jobs
from surveys.orm import utcnow

log = logging.getLogger(__name__)

#: The app of this worker process (set by ``hamkor worker`` before it starts working).
_APP: Flask | None = None

#: A queued job older than this whose RQ entry is gone is pushed again.
ORPHAN_AFTER = dt.timedelta(seconds=30)


def set_app(app: Flask) -> None:
    """Use ``app`` for the jobs this process runs."""
    global _APP
    _APP = app


def _app() -> Flask:
    global _APP
    if _APP is None:  # started by plain ``rq worker`` rather than ``hamkor worker``
        from surveys import create_app

        _APP = create_app()
    return _APP


def perform(job_id: int) -> None:
    """RQ's entry point for one job (in the work horse)."""
    app = _app()
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    state = jobs_state(app)
    state.side_engine = None
    run_job(app, job_id, worker=worker_name("rq"))


def requeue_orphans(app: Flask) -> int:
    """Push queued jobs whose RQ entry was lost (Redis restarted, a failed push) again."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job as RQJob
    from rq.job import JobStatus

    waiting = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)
    cutoff = utcnow() - ORPHAN_AFTER
    with app.app_context():
        queued = db.session.execute(
            select(Job.id, Job.attempts).where(
                Job.state == JobState.QUEUED, Job.created_at < cutoff
            )
        ).all()
        db.session.remove()
    connection = redis_connection(app)
    pushed = 0
    for job_id, attempts in queued:
        rq_id = rq_job_id(app, job_id, attempts)
        try:
            status = RQJob.fetch(rq_id, connection=connection).get_status()
        except NoSuchJobError:
            status = None
        if status in waiting:
            continue
        log.info("job %s was queued but not in Redis (%s): pushing it again", job_id, status)
        enqueue(app, job_id, attempts)
        pushed += 1
    return pushed


def maintain(app: Flask) -> None:
    """Fail jobs whose worker died, delete expired ones, push lost ones again."""
    with app.app_context():
        reaped = reap_dead_jobs(db.session)
        purged = purge_expired_jobs(db.session)
        db.session.commit()
        db.session.remove()
        if reaped or purged:
            log.info("jobs: %d failed for a lost worker, %d expired deleted", reaped, purged)
        requeue_orphans(app)
        db.engine.dispose()  # no connection of the parent may reach a forked horse


class HamkorWorker(Worker):
    """An RQ worker that also sweeps the job table on RQ's maintenance ticks."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            maintain(_app())
        except Exception:  # a sweep that fails must not stop the worker
            log.exception("job maintenance failed")
