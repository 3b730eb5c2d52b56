"""Running one job: claim it atomically, heartbeat, run its handler, record how it ended.

Whatever the backend (an RQ worker or a thread of a web process), a job runs through
:func:`run_job`:

1. **Claim**: ``UPDATE jobs SET state='running', worker=<me> WHERE id=? AND state='queued'``
   in its own short transaction. Only one process's update matches, so two never run the
   same job, however many were told about it.
2. **Heartbeat**: a small thread writes ``heartbeat_at`` every few seconds. A job whose
   heartbeat is older than ``HAMKOR_JOB_HEARTBEAT_TIMEOUT`` died with its worker (``kill -9``,
   a crash, a restart) and is marked failed by whoever looks next
   (:func:`surveys.jobs.services.reap_dead_jobs`); it can then be tried again.
3. **Handler**: runs with the application context's session as its one transaction.
   Progress goes through a separate connection in short transactions, so pollers see it
   while the handler's own writes stay uncommitted.
4. **Finish**: on success the job's final state is written *in the handler's transaction*
   and committed with its work, on the condition that this worker still owns the job; if
   the job was meanwhile declared dead (and perhaps retried elsewhere), the work is rolled
   back instead. A job's work is therefore committed at most once, and never by a worker
   that lost it. On failure the work is rolled back and the reason recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from typing import Any

from flask import Flask, g
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import create_engine, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from surveys.extensions import db
from surveys.jobs.kinds import JobCancelled, JobContext, JobFailed, _JobLost, get_kind, owned_by
from surveys.jobs.models import Job, JobState
from surveys.orm import utcnow

log = logging.getLogger(__name__)


def worker_name(prefix: str = "thread") -> str:
    """``<prefix>:<host>:<pid>:<nonce>``: who runs a job, unique per attempt."""
    return f"{prefix}:{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def heartbeat_interval(app: Flask) -> float:
    """Seconds between heartbeats: a sixth of the timeout, so a few may be missed safely."""
    return max(0.2, float(app.config["HAMKOR_JOB_HEARTBEAT_TIMEOUT"]) / 6)


def side_engine(app: Flask) -> Engine:
    """The engine for progress and heartbeats, apart from the handler's session.

    Connections are not pooled (a fork of an RQ worker inherits none), and on SQLite a write
    does not wait for the lock: while the handler's own transaction holds SQLite's one write
    lock, progress and heartbeats are skipped rather than holding the handler up (the final
    progress is written with the job's end). PostgreSQL has no such limit.
    """
    state = app.extensions["hamkor_jobs"]
    if state.side_engine is None or state.side_engine_pid != os.getpid():
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        options: dict[str, Any] = {"poolclass": NullPool}
        if url.startswith("sqlite"):
            options["connect_args"] = {"timeout": 0.05}
        state.side_engine = create_engine(url, **options)
        state.side_engine_pid = os.getpid()
    return state.side_engine


def claim(engine: Engine, job_id: int, worker: str) -> bool:
    """Mark a queued job as running by ``worker``; False when someone else got it first."""
    now = utcnow()
    with engine.begin() as conn:
        done = conn.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                worker=worker,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                progress_done=0,
                progress_total=None,
                progress_message=None,
                error=None,
            )
        )
    return done.rowcount == 1


class _Heartbeat:
    """A thread that tells everyone this worker is alive while the job runs."""

    def __init__(self, engine: Engine, job_id: int, worker: str, interval: float) -> None:
        self.engine, self.job_id, self.worker, self.interval = engine, job_id, worker, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(Job)
                        .where(*owned_by(self.job_id, self.worker))
                        .values(heartbeat_at=utcnow())
                    )
            except SQLAlchemyError as exc:  # locked (SQLite) or briefly unreachable
                log.debug("heartbeat of job %s skipped: %s", self.job_id, exc)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def _expiry(app: Flask, kind_keep: bool, now: dt.datetime) -> dt.datetime | None:
    if kind_keep:
        return None
    return now + dt.timedelta(days=int(app.config["HAMKOR_JOB_RETENTION_DAYS"]))


def _final_values(app: Flask, job: Job, state: JobState, **values: Any) -> dict[str, Any]:
    kind = get_kind(job.kind)
    now = utcnow()
    return {
        "state": state,
        "finished_at": now,
        "heartbeat_at": now,
        "expires_at": _expiry(app, kind is not None and kind.keep, now),
        **values,
    }


def _record_end(
    session: Session, app: Flask, job_id: int, worker: str, state: JobState, **values: Any
) -> bool:
    """Write the job's final state, if this worker still owns it (returns whether it did)."""
    job = session.get(Job, job_id)
    if job is None:
        return False
    stmt = (
        update(Job)
        .where(*owned_by(job_id, worker))
        .values(_final_values(app, job, state, **values))
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1


def failure_message() -> str:
    """What a user reads when a job failed for a reason they cannot act on."""
    return _(
        "The job stopped because of an unexpected error. The details are in the server's "
        "log; try again, and tell an administrator if it happens again."
    )


def run_job(app: Flask, job_id: int, *, worker: str | None = None) -> JobState | None:
    """Claim and run job ``job_id``; its final state, or None if another worker has it.

    Never raises for what a handler does: every outcome is recorded on the job.
    """
    worker = worker or worker_name()
    with app.app_context():
        engine = side_engine(app)
        if not claim(db.engine, job_id, worker):
            return None
        log.info("job %s claimed by %s", job_id, worker)
        with _Heartbeat(engine, job_id, worker, heartbeat_interval(app)):
            try:
                return _execute(app, engine, job_id, worker)
            finally:
                db.session.remove()


def _execute(app: Flask, engine: Engine, job_id: int, worker: str) -> JobState | None:
    from surveys.auth.models import User

    session = db.session
    job = session.get(Job, job_id)
    if job is None:  # deleted between its claim and now
        return None
    locale = job.locale or "en"
    kind = get_kind(job.kind)
    with force_locale(locale):
        if kind is None:
            log.error("job %s: no handler for kind %r in this process", job_id, job.kind)
            return _end_in_failure(
                session,
                app,
                job_id,
                worker,
                _(
                    "This kind of job (%(kind)s) is not known to the worker that took it.",
                    kind=job.kind,
                ),
            )
        # audit events written by the handler name the user who started the job
        g.user = session.get(User, job.user_id) if job.user_id is not None else None
        context = JobContext(job, session, engine, worker)
        try:
            result = kind.handler(context)
            ended = _record_end(
                session,
                app,
                job_id,
                worker,
                JobState.SUCCEEDED,
                result=result,
                **context.last_progress,
            )
            if not ended:
                session.rollback()
                log.warning(
                    "job %s finished after %s lost it: its work was rolled back", job_id, worker
                )
                return None
            session.commit()
            log.info("job %s succeeded", job_id)
            return JobState.SUCCEEDED
        except _JobLost:
            session.rollback()
            log.warning("job %s was taken from %s while it ran: rolled back", job_id, worker)
            return None
        except JobCancelled:
            session.rollback()
            log.info("job %s cancelled", job_id)
            return _end(session, app, job_id, worker, JobState.CANCELLED)
        except JobFailed as exc:
            session.rollback()
            log.info("job %s failed: %s", job_id, exc.message)
            return _end_in_failure(session, app, job_id, worker, exc.message)
        except Exception as exc:
            session.rollback()
            log.exception("job %s (%s) failed", job_id, job.kind)
            return _end_in_failure(session, app, job_id, worker, _unexpected(app, exc))


def _unexpected(app: Flask, exc: Exception) -> str:
    """The user's message for an exception the handler did not expect."""
    if type(exc).__name__ == "JobTimeoutException":  # RQ stopped it (no rq import needed here)
        return _(
            "The job took longer than the %(seconds)d seconds allowed and was stopped. "
            "Nothing it did was kept.",
            seconds=int(app.config["HAMKOR_JOB_TIMEOUT"]),
        )
    return failure_message()


def _end_in_failure(
    session: Session, app: Flask, job_id: int, worker: str, message: str
) -> JobState | None:
    return _end(session, app, job_id, worker, JobState.FAILED, error=message)


def _end(
    session: Session, app: Flask, job_id: int, worker: str, state: JobState, **values: Any
) -> JobState | None:
    """Record a final state in a transaction of its own (the handler's was rolled back)."""
    try:
        ended = _record_end(session, app, job_id, worker, state, **values)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.exception("could not record the end of job %s", job_id)
        return None
    return state if ended else None


def mark_lost(app: Flask, job_id: int, worker: str, message: str) -> None:
    """Fail a job this process was running when it is shutting down (best effort)."""
    try:
        with side_engine(app).begin() as conn:
            now = utcnow()
            conn.execute(
                update(Job)
                .where(*owned_by(job_id, worker))
                .values(
                    state=JobState.FAILED,
                    error=message,
                    finished_at=now,
                    expires_at=now
                    + dt.timedelta(days=int(app.config["HAMKOR_JOB_RETENTION_DAYS"])),
                )
            )
    except SQLAlchemyError:
        log.exception("could not mark job %s as failed at shutdown", job_id)
