"""A job's state, progress, result and files, kept in the database that every host shares."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveys.orm import Base, enum_column_type, utcnow


class JobState(enum.StrEnum):
    """Where a job is in its life; the last three are final."""

    QUEUED = "queued"  #: waiting for a worker to claim it
    RUNNING = "running"  #: claimed by one worker, which writes a heartbeat
    SUCCEEDED = "succeeded"  #: finished; ``result`` (and a result file) are there to read
    FAILED = "failed"  #: ``error`` says why, for the user; it can be tried again
    CANCELLED = "cancelled"  #: stopped at a user's request; nothing it did was kept

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class FilePurpose(enum.StrEnum):
    """What a stored file is to its job."""

    INPUT = "input"  #: uploaded with the request that started the job
    RESULT = "result"  #: produced by the job (a report, an export)


class Job(Base):
    """One run of a registered job kind, from submission to its result."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the registered kind, e.g. ``registry.import`` (see :mod:`surveys.jobs.kinds`)
    kind: Mapped[str] = mapped_column(String(64))
    #: the handler's parameters (JSON: ids and plain values, never secrets)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[JobState] = mapped_column(enum_column_type(JobState), default=JobState.QUEUED)
    #: language of the user who started it: messages and results are written in it
    locale: Mapped[str] = mapped_column(String(8), default="en")
    #: who started it (None: the command line, or the account was deleted)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: the institution whose data it reads or changes: its staff see the job (None: admins only)
    institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    progress_done: Mapped[int] = mapped_column(default=0)  #: units done so far
    progress_total: Mapped[int | None]  #: units in all, when known
    progress_message: Mapped[str | None] = mapped_column(String(255))  #: what it is doing now
    #: what the handler returned (JSON), shown by the kind's result template
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: why it failed, in words for the user (the traceback goes to the log, never here)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)  #: how many times a worker claimed it
    #: the process running it now (``host:pid:nonce``), unique per attempt
    worker: Mapped[str | None] = mapped_column(String(128))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    queued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  #: submitted or retried
    started_at: Mapped[dt.datetime | None]
    #: written by the running worker every few seconds; a stale one means the worker died
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    #: when a finished job and its files are deleted (None: kept until its feature deletes it)
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)

    #: named, not imported: the job layer sits below every feature
    user: Mapped[User | None] = relationship("User")  # noqa: F821
    institution: Mapped[Institution | None] = relationship("Institution")  # noqa: F821
    files: Mapped[list[JobFile]] = relationship(
        back_populates="job", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state}>"


class JobFile(Base):
    """A file that belongs to a job: its uploaded input or its result, bytes in the database.

    The database is the one store every web host and worker reads, so an upload reaches the
    worker that claims the job, and a report built on one host downloads from any other.
    """

    __tablename__ = "job_files"
    __table_args__ = (UniqueConstraint("job_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    purpose: Mapped[FilePurpose] = mapped_column(enum_column_type(FilePurpose))
    filename: Mapped[str] = mapped_column(String(255))  #: as the user named it, or as offered
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int]  #: bytes
    #: the content; loaded only when asked for (lists of files never read it)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    job: Mapped[Job] = relationship(back_populates="files")
