"""The registry of job kinds: one handler per kind, registered by the feature that owns it.

A feature puts its handlers in its own ``jobs.py`` (``surveys/<feature>/jobs.py`` is imported
by every web process and worker at start-up, see :func:`surveys.jobs.backends.init_jobs`)::

    from surveys.jobs.kinds import JobContext, JobFailed, job_kind

    @job_kind(
        "reports.build",
        label=_l("Yearly report"),
        describe=lambda params: _("Report %(year)s", year=params["year"]),
        result_template="reports/_job_result.html",
        keep=True,  # kept until a newer report replaces it
    )
    def build_report(ctx: JobContext) -> dict:
        for done, programme in enumerate(programmes, start=1):
            ...
            ctx.progress(done, len(programmes), _("Programme %(code)s", code=programme.code))
        ctx.attach_result_file("report-2025.pdf", "application/pdf", pdf_bytes)
        return {"pages": 42}  # stored as the job's result (JSON)

The handler runs in an application context of its own, in the language of the user who
started the job, with ``ctx.session`` as its one transaction: everything it adds or changes
is committed once, together with the job's final state, when it returns, and rolled back
when it raises. Raise :class:`JobFailed` with a message for the user when the work cannot be
done (any other exception is logged with its traceback and shown as a generic failure).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from surveys.jobs.models import FilePurpose, Job, JobFile, JobState
from surveys.orm import utcnow

log = logging.getLogger(__name__)

#: Least time between two progress writes of one job (a poll every second sees each).
PROGRESS_INTERVAL = 0.5


class JobFailed(Exception):
    """The job cannot do its work; ``message`` is shown to the user as the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JobCancelled(Exception):
    """Raised inside a handler (by ``ctx.progress``) when a user asked to cancel the job."""


class _JobLost(Exception):
    """This worker no longer owns the job (declared dead, then perhaps retried elsewhere)."""


def owned_by(job_id: int, worker: str) -> tuple[Any, ...]:
    """The WHERE clause of every write a worker makes to a job it runs."""
    return (Job.id == job_id, Job.worker == worker, Job.state == JobState.RUNNING)


class JobContext:
    """What a handler gets: its parameters, its session, progress reporting and its files."""

    def __init__(self, job: Job, session: Session, engine: Engine, worker: str) -> None:
        self.job_id: int = job.id
        self.kind: str = job.kind
        self.params: dict[str, Any] = dict(job.params or {})
        self.user_id: int | None = job.user_id
        self.institution_id: int | None = job.institution_id
        self.attempt: int = job.attempts
        self.locale: str = job.locale
        #: the job's one transaction: flush freely, never commit (the runner does, once)
        self.session = session
        self._engine, self._worker = engine, worker
        self._last_write = 0.0
        #: the last progress reported (written with the final state even if a write was
        #: skipped because the handler held SQLite's write lock)
        self.last_progress: dict[str, Any] = {}

    def progress(
        self,
        done: int,
        total: int | None = None,
        message: str | None = None,
        *,
        force: bool = False,
    ) -> None:
        """Tell pollers how far the job is (written at most twice a second, in its own
        short transaction). Raises :class:`JobCancelled` when a user asked to cancel."""
        self.last_progress["progress_done"] = done
        if total is not None:
            self.last_progress["progress_total"] = total
        if message is not None:
            self.last_progress["progress_message"] = message[:255]
        now = time.monotonic()
        final = total is not None and done >= total
        if not force and not final and now - self._last_write < PROGRESS_INTERVAL:
            return
        self._last_write = now
        values: dict[str, Any] = {"progress_done": done, "heartbeat_at": utcnow()}
        if total is not None:
            values["progress_total"] = total
        if message is not None:
            values["progress_message"] = message[:255]
        try:
            with self._engine.begin() as conn:
                conn.execute(update(Job).where(*owned_by(self.job_id, self._worker)).values(values))
                row = conn.execute(
                    select(Job.state, Job.worker, Job.cancel_requested).where(Job.id == self.job_id)
                ).one()
        except SQLAlchemyError as exc:  # the handler holds SQLite's write lock: skip this one
            log.debug("progress of job %s skipped: %s", self.job_id, exc)
            return
        if row.state != JobState.RUNNING or row.worker != self._worker:
            raise _JobLost
        if row.cancel_requested:
            raise JobCancelled

    def input_file(self) -> JobFile | None:
        """The file uploaded with the job (its ``data`` loaded), or None."""
        stored = self.session.scalar(
            select(JobFile).where(
                JobFile.job_id == self.job_id, JobFile.purpose == FilePurpose.INPUT
            )
        )
        if stored is not None:
            _ = stored.data  # load the deferred bytes now, inside the job's transaction
        return stored

    def attach_result_file(self, filename: str, content_type: str, data: bytes) -> None:
        """Store the job's result file (a report, an export); committed with the job."""
        existing = self.session.scalar(
            select(JobFile).where(
                JobFile.job_id == self.job_id, JobFile.purpose == FilePurpose.RESULT
            )
        )
        if existing is not None:
            self.session.delete(existing)
            self.session.flush()
        self.session.add(
            JobFile(
                job_id=self.job_id,
                purpose=FilePurpose.RESULT,
                filename=filename[:255],
                content_type=content_type,
                size=len(data),
                data=data,
            )
        )


Handler = Callable[[JobContext], "dict[str, Any] | None"]


@dataclasses.dataclass(frozen=True)
class JobKind:
    """How to run and show one kind of job."""

    name: str  #: e.g. ``registry.import``: the feature, a dot, the action
    handler: Handler
    label: Any  #: what the job is, for people (a lazy string), e.g. "Registry import"
    #: a title for one job from its parameters (in the reader's language); default: ``label``
    describe: Callable[[dict[str, Any]], str] | None = None
    #: a template included on the job's page when it has succeeded (gets ``job``, ``result``)
    result_template: str | None = None
    #: True: never purged automatically (the feature deletes or replaces it itself)
    keep: bool = False
    #: seconds after which an RQ worker stops the job (None: ``HAMKOR_JOB_TIMEOUT``)
    timeout: int | None = None

    def title(self, params: dict[str, Any]) -> str:
        """The job's title for a page or a list."""
        if self.describe is not None:
            try:
                return str(self.describe(params))
            except (KeyError, TypeError, ValueError):
                pass  # parameters of an older version: the label still says what it was
        return str(self.label)


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    label: Any,
    describe: Callable[[dict[str, Any]], str] | None = None,
    result_template: str | None = None,
    keep: bool = False,
    timeout: int | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of kind ``name``."""

    def register(handler: Handler) -> Handler:
        existing = _KINDS.get(name)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"job kind {name!r} is registered twice")
        _KINDS[name] = JobKind(
            name=name,
            handler=handler,
            label=label,
            describe=describe,
            result_template=result_template,
            keep=keep,
            timeout=timeout,
        )
        return handler

    return register


def get_kind(name: str) -> JobKind | None:
    """The registered kind called ``name``, or None."""
    return _KINDS.get(name)


def registered_kinds() -> dict[str, JobKind]:
    """Every registered kind by name."""
    return dict(_KINDS)
