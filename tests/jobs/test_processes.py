"""The job layer across real processes: RQ workers on Redis, and the threads of gunicorn.

Each test kills a real worker process with SIGKILL while it runs a job, and checks what a
user sees: the job is failed (its heartbeat stopped), nothing it did was kept, and "Try
again" runs it to the end on a worker that is alive.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid

import pytest
from sqlalchemy import func, select

import tests.jobs.kinds  # noqa: F401  (registers test.work in this process too)
from surveys import create_app
from surveys.extensions import db as app_db
from surveys.jobs import services
from surveys.jobs.models import Job, JobState
from surveys.registry.models import Institution, Programme
from tests.conftest import TEST_PASSWORD
from tests.jobs.helpers import wait_for_job
from tests.processes import (
    HAMKOR,
    Browserless,
    Process,
    free_port,
    process_env,
    wait_until_listening,
)
from tests.registry.conftest import example

SECRET = "process-tests-secret-0123456789abcdef"
#: Short, so that a killed worker's job is seen as failed within seconds.
HEARTBEAT_TIMEOUT = "2"


def institutions(db, code: str) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Institution).where(Institution.code == code))


RQ_ON_POSTGRES = pytest.mark.postgres_only(
    "RQ workers are deployed with PostgreSQL (docs/deploy.md); tests/jobs/test_layer.py "
    "claims, beats, reaps and retries jobs, and carries their files, on SQLite too"
)


@pytest.fixture
def queue(redis_url):
    """A queue name of this test's own; its Redis keys are deleted afterwards."""
    from redis import Redis

    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def start_worker(database_url, redis_url, queue, tmp_path):
    """Start ``hamkor worker`` processes on this test's database and queue."""
    started: list[Process] = []

    def _start() -> Process:
        env = process_env(
            HAMKOR_DATABASE_URL=database_url,
            HAMKOR_REDIS_URL=redis_url,
            HAMKOR_JOB_QUEUE=queue,
            HAMKOR_SECRET_KEY=SECRET,
            HAMKOR_JOB_MODULES="tests.jobs.kinds",
            HAMKOR_JOB_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT,
        )
        worker = Process([HAMKOR, "worker"], env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        worker.stop()


@pytest.fixture
def rq_app(database_url, redis_url, queue):
    """The web app as it runs with ``HAMKOR_REDIS_URL``: jobs go to the RQ queue."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HAMKOR_REDIS_URL": redis_url,
            "HAMKOR_JOB_QUEUE": queue,
            "HAMKOR_JOB_HEARTBEAT_TIMEOUT": int(HEARTBEAT_TIMEOUT),
            "RATELIMIT_STORAGE_URI": "memory://",
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    assert app.extensions["hamkor_jobs"].backend == "rq"
    yield app
    with app.app_context():
        app_db.session.remove()
        app_db.engine.dispose()


def submit(app, params, **kwargs) -> int:
    with app.test_request_context():
        job = services.submit_job(app_db.session, "test.work", params, **kwargs)
        app_db.session.commit()
        job_id = job.id
        app_db.session.remove()
    return job_id


@RQ_ON_POSTGRES
def test_jobs_run_on_rq_workers(rq_app, start_worker, database_url, db):
    worker = start_worker()
    job_id = submit(
        rq_app,
        {"code": "RQ-1"},
        input_file=services.UploadedFile("in.txt", "text/plain", b"from the web host"),
    )
    job = wait_for_job(database_url, job_id, timeout=60)
    assert job.state == JobState.SUCCEEDED, (job.error, worker.output()[-2000:])
    assert job.worker.startswith("rq:")
    assert job.result["input"] == "from the web host"  # the file reached the worker
    assert job.result["pid"] not in (os.getpid(), worker.pid)  # RQ's work horse ran it
    assert institutions(db, "RQ-1") == 1


@RQ_ON_POSTGRES
def test_an_import_uploaded_on_the_web_runs_on_a_worker(
    rq_app, start_worker, database_url, db, make_institution, make_user
):
    from tests.world import logged_in_client

    institution = make_institution(code="QMII", name="Qarshi")
    staff = make_user("staff", institution, email="staff@qmii.example")
    db.commit()
    start_worker()
    client = logged_in_client(rq_app, staff)
    page = client.get("/registry/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    import io

    response = client.post(
        "/registry/import",
        data={
            "csrf_token": token,
            "kind": "programmes",
            "file": (io.BytesIO(example("programmes.csv")), "programmes.csv"),
            "submit": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = wait_for_job(database_url, job_id, timeout=60)
    assert job.state == JobState.SUCCEEDED and job.worker.startswith("rq:")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "programmes.csv imported: 6 created, 0 updated, 0 unchanged." in page
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Programme)) == 6


@RQ_ON_POSTGRES
def test_a_killed_rq_worker_fails_its_job_and_retry_finishes_it(
    rq_app, start_worker, database_url, db, make_user
):
    from tests.world import logged_in_client

    admin = make_user("admin", email="admin@hamkor.example")
    db.commit()
    client = logged_in_client(rq_app, admin)
    first = start_worker()
    job_id = submit(
        rq_app, {"code": "RQ-KILLED", "steps": 120, "pause": 0.05, "paused_attempts": 1}
    )
    deadline = time.monotonic() + 60
    while True:  # running, with some progress written by the work horse
        status = client.get(f"/jobs/{job_id}/status").get_json()
        if status["state"] == "running" and status["done"] > 2:
            break
        assert time.monotonic() < deadline, (status, first.output()[-2000:])
        time.sleep(0.1)
    db.rollback()
    horse = int(db.get(Job, job_id).worker.split(":")[2])  # RQ forks a horse per job
    first.kill_group(signal.SIGKILL)  # the worker and its work horse, as a crash would
    os.killpg(horse, signal.SIGKILL)  # (the horse has a process group of its own)
    first.popen.wait(10)
    deadline = time.monotonic() + 30
    while (status := client.get(f"/jobs/{job_id}/status").get_json())["state"] == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["state"] == "failed"
    assert "The worker running this job stopped" in status["error"]
    assert institutions(db, "RQ-KILLED") == 0  # its work was never committed
    start_worker()
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    retried = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token})
    assert retried.status_code == 303
    job = wait_for_job(database_url, job_id, timeout=90)
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.attempts == 2 and job.worker.startswith("rq:")
    assert institutions(db, "RQ-KILLED") == 1


@pytest.mark.sqlite_only(
    "jobs in threads of `hamkor serve` are the embedded default; tests/jobs/test_layer.py "
    "claims, beats, reaps and retries jobs on PostgreSQL too"
)
def test_a_killed_gunicorn_worker_fails_its_job_and_retry_finishes_it(
    database_url, db, make_user, tmp_path
):
    """The embedded default: jobs run in threads of ``hamkor serve``'s gunicorn workers."""
    admin = make_user("admin", email="admin@hamkor.example")
    db.commit()
    port = free_port()
    env = process_env(
        HAMKOR_DATABASE_URL=database_url,
        HAMKOR_SECRET_KEY=SECRET,
        HAMKOR_JOB_MODULES="tests.jobs.kinds",
        HAMKOR_JOB_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT,
        HAMKOR_JOB_POLL_SECONDS="1",
    )
    server = Process(
        [HAMKOR, "serve", "--port", str(port), "--workers", "2"], env, tmp_path / "serve.log"
    )
    try:
        wait_until_listening(port)
        browser = Browserless(f"http://127.0.0.1:{port}")
        browser.login(admin.email, TEST_PASSWORD)
        for _ in range(6):  # wake both workers' job threads (they start on a first request)
            browser.get("/jobs/")
        db.add(
            Job(
                kind="test.work",
                params={"code": "GUN", "steps": 120, "pause": 0.05, "paused_attempts": 1},
            )
        )
        db.commit()  # queued without telling anyone: the threads find it in the database
        job_id = db.scalar(select(func.max(Job.id)))
        status = browser.wait_for_job(
            job_id, until=lambda s: s["state"] == "running" and s["done"] > 2, timeout=60
        )
        db.rollback()
        runner_pid = int(db.get(Job, job_id).worker.split(":")[2])
        assert runner_pid != server.pid  # a worker process of gunicorn's, not the master
        os.kill(runner_pid, signal.SIGKILL)
        status = browser.wait_for_job(job_id, timeout=30)
        assert status["state"] == "failed", status
        assert "The worker running this job stopped" in status["error"]
        assert institutions(db, "GUN") == 0
        status, url, page = browser.post(f"/jobs/{job_id}/retry", {}, token_from=f"/jobs/{job_id}")
        assert status == 200 and url.endswith(f"/jobs/{job_id}")
        assert "The job is queued again." in page
        status = browser.wait_for_job(job_id, timeout=90)
        assert status["state"] == "succeeded" and status["attempts"] == 2, status
        assert institutions(db, "GUN") == 1
        # the result outlives the server: restart it and read the job again
        server.stop()
        server = Process(
            [HAMKOR, "serve", "--port", str(port), "--workers", "1"], env, tmp_path / "s2.log"
        )
        wait_until_listening(port)
        browser = Browserless(f"http://127.0.0.1:{port}")
        browser.login(admin.email, TEST_PASSWORD)
        code, page = browser.get(f"/jobs/{job_id}")
        assert code == 200 and "Test work GUN" in page and "Finished." in page
    finally:
        server.kill()
