"""Waiting for jobs, as a user's browser would (polling), with bounded waits."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from surveys.jobs.models import Job, JobState

FINISHED = {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


def wait_for_status(client, job_id: int, *, until=None, timeout: float = 30.0) -> dict:
    """Poll the job's JSON status through ``client`` until ``until(status)`` (default:
    finished) holds; fails the test after ``timeout`` seconds."""
    until = until or (lambda status: status["finished"])
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/jobs/{job_id}/status")
        assert response.status_code == 200, response.status_code
        status = response.get_json()
        if until(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not get there in {timeout} s: {status}")
        time.sleep(0.05)


def wait_for_job(url: str, job_id: int, *, states=FINISHED, timeout: float = 30.0) -> Job:
    """Read job ``job_id`` from the database at ``url`` until it is in one of ``states``."""
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with Session(engine) as session:
                job = session.get(Job, job_id)
                if job is not None and job.state in states:
                    session.expunge(job)
                    return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} is still {job and job.state} after {timeout} s")
            time.sleep(0.05)
    finally:
        engine.dispose()


def job_ids(url: str) -> list[int]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Job.id).order_by(Job.id)))
    finally:
        engine.dispose()
