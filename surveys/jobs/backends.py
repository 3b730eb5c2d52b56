"""Where jobs run: RQ workers when ``HAMKOR_REDIS_URL`` is set, else a thread of the server.

**RQ** (production): a submitted job is pushed to the Redis queue ``HAMKOR_JOB_QUEUE`` once
its transaction commits; ``hamkor worker`` processes (:mod:`surveys.jobs.worker`) take it.
The queue only says "look at job 42": the job itself is the database row, so a job whose
push was lost (Redis restarted, unreachable at that moment) is pushed again by a worker's
periodic sweep, and a job pushed twice still runs once (the claim is atomic).

**Thread** (the embedded default, nothing more to run): each serving process starts one
background thread on its first request. It takes queued jobs from the database, oldest
first, claiming each atomically, so with ``hamkor serve --workers 4`` any of the four may
run a job and no two run the same one; the process that accepted a job wakes its own thread
at once, the others look every ``HAMKOR_JOB_POLL_SECONDS``.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from surveys.jobs.models import Job

log = logging.getLogger(__name__)

#: Seconds between two deletions of expired jobs by a job thread (RQ workers sweep too).
PURGE_EVERY = 3600

#: ``session.info`` key of the jobs to hand to a backend when the transaction commits.
_PENDING = "hamkor_jobs_pending"


@dataclass
class JobsState:
    """``app.extensions["hamkor_jobs"]``: the app's backend and what it keeps per process."""

    app: Flask
    backend: str  #: ``rq`` or ``thread``
    runner: ThreadRunner | None = None
    side_engine: Engine | None = None
    side_engine_pid: int | None = None
    redis: Any = None
    redis_pid: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def init_jobs(app: Flask, features: tuple[str, ...]) -> None:
    """Register every feature's job kinds and choose the backend for ``app``.

    A feature's kinds live in ``surveys/<feature>/jobs.py``; ``HAMKOR_JOB_MODULES`` names
    further modules (comma-separated) for kinds defined elsewhere.
    """
    for feature in features:
        name = f"surveys.{feature}.jobs"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    for name in app.config.get("HAMKOR_JOB_MODULES") or ():
        importlib.import_module(name)
    backend = "rq" if app.config.get("HAMKOR_REDIS_URL") else "thread"
    state = JobsState(app=app, backend=backend)
    app.extensions["hamkor_jobs"] = state
    if backend == "thread":
        app.before_request(start_job_thread)


def start_job_thread() -> None:
    """Before each request of an app on the thread backend: its job thread runs (started on
    the process's first request, and again should it have died)."""
    ensure_runner(current_app._get_current_object())


def jobs_state(app: Flask) -> JobsState:
    return app.extensions["hamkor_jobs"]


# --- dispatch once the submitting transaction has committed -------------------------------


def dispatch_after_commit(session: Session, job: Job) -> None:
    """Hand ``job`` to the backend when ``session``'s transaction commits (not before)."""
    app = current_app._get_current_object()
    session.info.setdefault(_PENDING, []).append((app, job.id, job.attempts))


@event.listens_for(Session, "after_commit")
def _dispatch_pending(session: Session) -> None:
    for app, job_id, attempts in session.info.pop(_PENDING, []):
        try:
            dispatch(app, job_id, attempts)
        except Exception:  # the job stays queued: a worker's sweep or a thread will find it
            log.exception("could not hand job %s to the %s backend", job_id, app.name)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def dispatch(app: Flask, job_id: int, attempts: int = 0) -> None:
    """Tell the backend that job ``job_id`` is queued."""
    state = jobs_state(app)
    if state.backend == "rq":
        enqueue(app, job_id, attempts)
    else:
        ensure_runner(app).wake.set()


# --- RQ ---------------------------------------------------------------------------------


def redis_connection(app: Flask):
    """The Redis client of ``HAMKOR_REDIS_URL`` (one per process)."""
    from redis import Redis

    state = jobs_state(app)
    with state.lock:
        if state.redis is None or state.redis_pid != os.getpid():
            state.redis = Redis.from_url(app.config["HAMKOR_REDIS_URL"])
            state.redis_pid = os.getpid()
        return state.redis


def rq_job_id(app: Flask, job_id: int, attempts: int) -> str:
    """RQ's id for one attempt of a job: the queue name, the job id and the attempt."""
    return f"{app.config['HAMKOR_JOB_QUEUE']}-{job_id}-{attempts}"


def rq_queue(app: Flask):
    from rq import Queue

    return Queue(app.config["HAMKOR_JOB_QUEUE"], connection=redis_connection(app))


def enqueue(app: Flask, job_id: int, attempts: int) -> None:
    """Push one attempt of a job to the RQ queue."""
    from surveys.jobs.kinds import get_kind

    timeout = int(app.config["HAMKOR_JOB_TIMEOUT"])
    with app.app_context():
        from surveys.extensions import db
        from surveys.jobs.models import Job

        kind_name = db.session.scalar(select(Job.kind).where(Job.id == job_id))
        db.session.remove()
    kind = get_kind(kind_name or "")
    if kind is not None and kind.timeout:
        timeout = kind.timeout
    rq_queue(app).enqueue_call(
        "surveys.jobs.worker.perform",
        args=(job_id,),
        job_id=rq_job_id(app, job_id, attempts),
        timeout=timeout,
        result_ttl=0,
        failure_ttl=7 * 24 * 3600,
        description=f"hamkor job {job_id} ({kind_name})",
    )


# --- the thread backend -------------------------------------------------------------------

_RUNNERS: weakref.WeakSet[ThreadRunner] = weakref.WeakSet()


class ThreadRunner:
    """One background thread of a serving process that runs queued jobs, one at a time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.pid = os.getpid()
        #: (job id, worker name) of the job running now, to fail it if the process exits
        self.current: tuple[int, str] | None = None
        self.thread = threading.Thread(target=self._loop, name="hamkor-jobs", daemon=True)
        self.last_purge = 0.0

    def start(self) -> None:
        self.thread.start()

    def alive(self) -> bool:
        return self.thread.is_alive() and self.pid == os.getpid() and not self.stopping.is_set()

    def _loop(self) -> None:
        poll = float(self.app.config["HAMKOR_JOB_POLL_SECONDS"])
        failing = False
        while not self.stopping.is_set():
            try:
                ran = self.run_next()
                failing = False
            except Exception as exc:  # a database hiccup must not end the thread
                if not failing:  # once, not every few seconds while it lasts
                    log.warning("the job thread cannot look for jobs: %s", exc, exc_info=True)
                failing, ran = True, False
            if not ran:
                self.wake.wait(poll * (10 if failing else 1))
                self.wake.clear()

    def run_next(self) -> bool:
        """Reap dead jobs, then claim and run the oldest queued one; whether one ran."""
        from surveys.extensions import db
        from surveys.jobs.models import Job, JobState
        from surveys.jobs.runner import run_job, worker_name
        from surveys.jobs.services import purge_expired_jobs, reap_dead_jobs

        with self.app.app_context():
            reap_dead_jobs(db.session)
            if time.monotonic() - self.last_purge > PURGE_EVERY:
                purge_expired_jobs(db.session)
                self.last_purge = time.monotonic()
            db.session.commit()
            candidates = list(
                db.session.scalars(
                    select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.id).limit(10)
                )
            )
            db.session.remove()
        for job_id in candidates:
            if self.stopping.is_set():
                return False
            worker = worker_name("thread")
            self.current = (job_id, worker)
            try:
                if run_job(self.app, job_id, worker=worker) is not None:
                    return True
            finally:
                self.current = None
        return False

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def fail_current(self) -> None:
        """At process exit: fail the job this thread was running (its work is lost)."""
        current = self.current
        if current is None or self.pid != os.getpid():
            return
        from flask_babel import force_locale

        from surveys.jobs.runner import mark_lost
        from surveys.jobs.services import worker_lost_message

        job_id, worker = current
        with self.app.app_context():
            from surveys.extensions import db
            from surveys.jobs.models import Job

            locale = db.session.scalar(select(Job.locale).where(Job.id == job_id)) or "en"
            db.session.remove()
            with force_locale(locale):
                message = worker_lost_message()
        mark_lost(self.app, job_id, worker, message)


def ensure_runner(app: Flask) -> ThreadRunner:
    """This process's job thread for ``app``, started if it is not running."""
    state = jobs_state(app)
    runner = state.runner
    if runner is not None and runner.alive():
        return runner
    with state.lock:
        runner = state.runner
        if runner is None or not runner.alive():
            runner = ThreadRunner(app)
            state.runner = runner
            _RUNNERS.add(runner)
            runner.start()
    return runner


def stop_runners(timeout: float = 10) -> None:
    """Stop every job thread of this process (tests call it between tests)."""
    for runner in list(_RUNNERS):
        runner.stop(timeout)


@atexit.register
def _fail_running_jobs_at_exit() -> None:
    for runner in list(_RUNNERS):
        try:
            runner.stopping.set()
            runner.fail_current()
        except Exception:
            log.exception("could not record the jobs running at exit")
