"""``hamkor worker`` (run jobs from Redis) and ``hamkor jobs list|retry|purge``."""

from __future__ import annotations

import sys

import click

from surveys.cli import FORMAT_OPTION, print_rows, with_app


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@click.option("--verbose/--quiet", default=True, show_default=True, help="Log each job on stderr.")
def worker_command(burst: bool, verbose: bool) -> None:
    """Run background jobs (imports, e-mail batches, reports) from the Redis queue.

    Needs HAMKOR_REDIS_URL (the same value as the web servers) and HAMKOR_DATABASE_URL.
    Start as many as the machine has cores to spare, on as many hosts as you like; each
    job runs once. Without HAMKOR_REDIS_URL the web server runs jobs in its own threads
    and no worker is needed. Stop with Ctrl+C (or SIGTERM): the job in progress finishes
    first; a second Ctrl+C stops it, and it is then shown as failed and can be retried.
    """
    import logging

    from surveys.cli import _create_app
    from surveys.jobs.backends import redis_connection
    from surveys.jobs.worker import HamkorWorker, maintain, set_app

    app = _create_app()
    url = app.config.get("HAMKOR_REDIS_URL")
    if not url:
        raise click.ClickException(
            "HAMKOR_REDIS_URL is not set. Without it, jobs run in the web server's own "
            "threads and no worker is needed; set it (e.g. redis://127.0.0.1:6379/0) on the "
            "web servers and the workers to run jobs here."
        )
    from redis.exceptions import RedisError

    connection = redis_connection(app)
    try:
        connection.ping()
    except RedisError as exc:
        raise click.ClickException(f"Redis at {_safe_url(url)} does not answer: {exc}") from exc
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    set_app(app)
    maintain(app)
    queue = app.config["HAMKOR_JOB_QUEUE"]
    click.echo(f"hamkor worker: jobs from queue {queue!r} at {_safe_url(url)}", err=True)
    worker = HamkorWorker(
        [queue],
        connection=connection,
        worker_ttl=45,  # RQ sweeps (and so do we) at least every 30 s, even when idle
        maintenance_interval=30,
    )
    worker.work(burst=burst, logging_level="INFO" if verbose else "WARNING")


def _safe_url(url: str) -> str:
    """A Redis URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs: list them, retry a failed one, delete expired ones."""


@jobs_group.command("list")
@click.option(
    "--state",
    type=click.Choice(["queued", "running", "succeeded", "failed", "cancelled"]),
    default=None,
    help="Only jobs in this state.",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@FORMAT_OPTION
@with_app
def list_command(state: str | None, limit: int, fmt: str) -> None:
    """The newest jobs, with their state and progress."""
    from sqlalchemy import select

    from surveys.extensions import db
    from surveys.jobs.kinds import get_kind
    from surveys.jobs.models import Job

    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(Job.state == state)
    rows = []
    for job in db.session.scalars(stmt):
        kind = get_kind(job.kind)
        rows.append(
            {
                "id": job.id,
                "kind": job.kind,
                "title": kind.title(job.params) if kind else job.kind,
                "state": str(job.state),
                "progress": f"{job.progress_done}/{job.progress_total or '?'}",
                "attempts": job.attempts,
                "created_at": job.created_at.isoformat(timespec="seconds"),
                "finished_at": job.finished_at.isoformat(timespec="seconds")
                if job.finished_at
                else None,
                "worker": job.worker,
                "error": job.error,
            }
        )
    print_rows(rows, ["id", "kind", "title", "state", "progress", "attempts", "created_at"], fmt)


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@with_app
def retry_command(job_id: int) -> None:
    """Queue a failed or cancelled job again (same parameters and file)."""
    from surveys.extensions import db
    from surveys.jobs.models import Job
    from surveys.jobs.services import can_retry, reap_dead_jobs, retry_job

    reap_dead_jobs(db.session)
    job = db.session.get(Job, job_id)
    if job is None:
        raise click.BadParameter(f"there is no job {job_id}", param_hint="JOB_ID")
    if not can_retry(job):
        raise click.ClickException(f"job {job_id} is {job.state}: only failed or cancelled jobs")
    retry_job(db.session, job)
    db.session.commit()
    click.echo(f"Job {job_id} is queued again.")


@jobs_group.command("purge")
@with_app
def purge_command() -> None:
    """Delete finished jobs (and their files) older than HAMKOR_JOB_RETENTION_DAYS."""
    from surveys.extensions import db
    from surveys.jobs.services import purge_expired_jobs, reap_dead_jobs

    reaped = reap_dead_jobs(db.session)
    purged = purge_expired_jobs(db.session)
    db.session.commit()
    click.echo(f"{purged} expired job(s) deleted; {reaped} whose worker died marked failed.")
    sys.stdout.flush()


commands: list[click.Command] = [worker_command, jobs_group]
