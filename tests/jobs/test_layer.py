"""The job layer in one process (the thread backend), on SQLite and PostgreSQL.

What a user of any feature's job notices: the request returns at once and the job runs in
the background; progress is visible while it runs; the work is committed once at the end
(or not at all); failures say why without a traceback; a job whose worker died is failed
and can be retried; only the right people see a job.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import func, select, update

import tests.jobs.kinds  # noqa: F401  (registers test.work)
from surveys.extensions import db as app_db
from surveys.jobs import services
from surveys.jobs.models import FilePurpose, Job, JobFile, JobState
from surveys.jobs.runner import claim, run_job, side_engine
from surveys.orm import utcnow
from surveys.registry.models import Institution
from tests.conftest import csrf_token_from
from tests.jobs.helpers import wait_for_job, wait_for_status


def submit(app, params, *, user=None, institution_id=None, data: bytes | None = None) -> int:
    """Queue a ``test.work`` job as a view would, and commit (which hands it to the thread)."""
    with app.test_request_context():
        upload = None
        if data is not None:
            upload = services.UploadedFile("input.txt", "text/plain", data)
        user_obj = app_db.session.get(type(user), user.id) if user is not None else None
        job = services.submit_job(
            app_db.session,
            "test.work",
            params,
            user=user_obj,
            institution_id=institution_id,
            input_file=upload,
        )
        app_db.session.commit()
        job_id = job.id
        app_db.session.remove()
    return job_id


def stored_as_queued(app, owner, code: str) -> int:
    """A ``test.work`` job of ``owner``'s stored as queued and handed to no backend (as a
    server that stopped, or another process, leaves one)."""
    with app.app_context():
        job = Job(
            kind="test.work",
            params={"code": code},
            locale="en",
            user_id=owner.id,
            institution_id=owner.institution_id,
        )
        app_db.session.add(job)
        app_db.session.commit()
        job_id = job.id
        app_db.session.remove()
    return job_id


def started_server(database_url: str, secret: str):
    """A brand-new app on the test's database, as a (re)started server would make it: its
    job thread starts on its first request, unlike the ``app`` fixture's."""
    from surveys import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secret,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )


def institutions_named(db, code: str) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Institution).where(Institution.code == code))


@pytest.fixture
def owner(make_institution, make_user, db):
    """Staff of an institution, who starts the jobs."""
    institution = make_institution(code="OWN", name="Own institute")
    user = make_user("staff", institution, email="owner@own.example")
    db.commit()
    return user


def test_a_job_runs_in_the_background_and_commits_its_work_once(
    app, db, owner, database_url, client, login
):
    job_id = submit(
        app,
        {"code": "JOB-A", "steps": 4},
        user=owner,
        institution_id=owner.institution_id,
        data=b"hello",
    )
    job = wait_for_job(database_url, job_id)
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.result["input"] == "hello" and job.result["attempt"] == 1
    assert (job.progress_done, job.progress_total) == (4, 4)
    assert job.worker.startswith("thread:") and job.attempts == 1
    assert job.finished_at >= job.started_at >= job.created_at
    assert job.expires_at is not None  # purged after HAMKOR_JOB_RETENTION_DAYS
    assert institutions_named(db, "JOB-A") == 1
    login(owner)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Test work JOB-A" in page and "Finished." in page and "owner@own.example" in page
    assert 'http-equiv="refresh"' not in page  # finished pages stop refreshing
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["state"] == "succeeded" and status["finished"] and status["percent"] == 100


def test_progress_is_visible_while_the_work_is_not(app, db, owner, client, login):
    login(owner)
    job_id = submit(
        app,
        {"code": "JOB-SLOW", "steps": 8, "pause": 0.25},
        user=owner,
        institution_id=owner.institution_id,
    )
    seen = wait_for_status(
        client, job_id, until=lambda s: s["state"] == "running" and 0 < s["done"] < 8
    )
    assert "Running: Step" in seen["label"] and " of 8" in seen["label"]
    assert 0 < seen["percent"] < 100
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'data-job-status="/jobs/{job_id}/status"' in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "jobs.js" in page
    # the handler's insert is flushed but not committed: nobody else sees it yet
    assert institutions_named(db, "JOB-SLOW") == 0
    final = wait_for_status(client, job_id)
    assert final["state"] == "succeeded"
    assert institutions_named(db, "JOB-SLOW") == 1


def test_a_refusal_is_shown_and_nothing_is_kept(app, db, owner, database_url, client, login):
    job_id = submit(
        app,
        {"code": "JOB-NO", "outcome": "refuse"},
        user=owner,
        institution_id=owner.institution_id,
    )
    job = wait_for_job(database_url, job_id)
    assert job.state == JobState.FAILED
    assert job.error == "The test job was told to refuse."
    assert institutions_named(db, "JOB-NO") == 0
    login(owner)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "The job failed" in page and "The test job was told to refuse." in page
    assert "Try again" in page


def test_a_crash_is_logged_with_its_traceback_but_users_read_a_plain_reason(
    app, db, owner, database_url, caplog
):
    caplog.set_level(logging.ERROR, logger="surveys.jobs.runner")
    job_id = submit(app, {"code": "JOB-X", "outcome": "crash"}, user=owner)
    job = wait_for_job(database_url, job_id)
    assert job.state == JobState.FAILED
    assert "unexpected error" in job.error and "0xDEAD" not in job.error
    assert any("0xDEAD" in (r.exc_text or "") for r in caplog.records)
    assert institutions_named(db, "JOB-X") == 0


def test_the_job_is_handed_over_only_when_the_request_commits(app, db, owner, database_url):
    with app.test_request_context():
        job = services.submit_job(app_db.session, "test.work", {"code": "NEVER"})
        job_id = job.id
        app_db.session.rollback()  # the request failed: no job, and nothing runs
        app_db.session.remove()
    time.sleep(0.3)
    db.rollback()
    assert db.get(Job, job_id) is None
    assert institutions_named(db, "NEVER") == 0


def test_two_workers_never_run_the_same_job(app, db, database_url):
    with app.app_context():
        job = Job(kind="test.work", params={"code": "ONCE", "pause": 0.05}, locale="en")
        app_db.session.add(job)
        app_db.session.flush()
        job_id = job.id
        # written without dispatch: no thread knows about it; the workers below race for it
        app_db.session.commit()
        app_db.session.remove()
        engine = side_engine(app)
        assert claim(engine, job_id, "first") is True
        assert claim(engine, job_id, "second") is False
        with engine.begin() as conn:  # back to queued, then race four workers for it
            conn.execute(update(Job).where(Job.id == job_id).values(state=JobState.QUEUED))
    outcomes: list = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(run_job(app, job_id))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes, key=str) == [None, None, None, JobState.SUCCEEDED]
    assert institutions_named(db, "ONCE") == 1


def test_a_job_whose_worker_died_is_failed_and_can_be_retried(
    app, db, owner, database_url, client, login
):
    """Simulated here (a claim by a worker that never beats again); a real ``kill -9`` of
    a worker process is in test_processes.py."""
    login(owner)
    app.config["HAMKOR_JOB_HEARTBEAT_TIMEOUT"] = 1
    job_id = stored_as_queued(app, owner, "REVIVED")
    with app.app_context():
        assert claim(side_engine(app), job_id, "thread:gone:1:dead") is True
    running = client.get(f"/jobs/{job_id}/status").get_json()
    assert running["state"] == "running"
    time.sleep(1.2)
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["state"] == "failed" and status["finished"]
    assert "The worker running this job stopped" in status["error"]
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Try again" in page
    response = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303 and response.headers["Location"] == f"/jobs/{job_id}"
    final = wait_for_status(client, job_id)
    assert final["state"] == "succeeded" and final["attempts"] == 2
    assert institutions_named(db, "REVIVED") == 1
    # the dead worker's late finish cannot commit anything: it no longer owns the job
    with app.app_context():
        from surveys.jobs.runner import _record_end

        assert (
            _record_end(app_db.session, app, job_id, "thread:gone:1:dead", JobState.SUCCEEDED)
            is False
        )
        app_db.session.rollback()


def test_cancel_a_queued_or_running_job(app, db, owner, database_url, client, login):
    login(owner)
    job_id = submit(
        app,
        {"code": "STOPPED", "steps": 40, "pause": 0.1},
        user=owner,
        institution_id=owner.institution_id,
    )
    wait_for_status(client, job_id, until=lambda s: s["state"] == "running" and s["done"] > 0)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    response = client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    final = wait_for_status(client, job_id)
    assert final["state"] == "cancelled"
    assert institutions_named(db, "STOPPED") == 0
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "The job was cancelled" in page and "Try again" in page


def test_who_sees_which_job(app, db, owner, make_institution, make_user, client, login):
    other = make_institution(code="OTH", name="Other institute")
    colleague = make_user("staff", owner.institution, email="colleague@own.example")
    stranger = make_user("staff", other, email="stranger@oth.example")
    admin = make_user("admin", email="root@hamkor.example")
    committee = make_user("committee", email="member@committee.example")
    db.commit()
    own = submit(app, {"code": "SEEN"}, user=owner, institution_id=owner.institution_id)
    mine = submit(app, {"code": "CMTE"}, user=committee, institution_id=None)
    for who, visible, hidden in (
        (colleague, [own], [mine]),
        (stranger, [], [own, mine]),
        (admin, [own, mine], []),
        (committee, [mine], [own]),
    ):
        client.post(
            "/logout",
            data={"csrf_token": csrf_token_from(client.get("/login").get_data(as_text=True))},
        )
        login(who)
        listing = client.get("/jobs/").get_data(as_text=True)
        for job_id in visible:
            assert client.get(f"/jobs/{job_id}").status_code == 200, (who.email, job_id)
            assert f'href="/jobs/{job_id}"' in listing
        for job_id in hidden:
            assert client.get(f"/jobs/{job_id}").status_code == 404, (who.email, job_id)
            assert client.get(f"/jobs/{job_id}/status").status_code == 404
            assert f'href="/jobs/{job_id}"' not in listing


def test_result_file_downloads_and_input_travels_with_the_job(
    app, db, owner, database_url, client, login
):
    job_id = submit(
        app,
        {"code": "FILES", "attach": True},
        user=owner,
        institution_id=owner.institution_id,
        data=b"uploaded bytes",
    )
    assert wait_for_job(database_url, job_id).state == JobState.SUCCEEDED
    login(owner)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "input.txt (14 Bytes)" in page
    assert "Download report.txt" in page
    download = client.get(f"/jobs/{job_id}/file")
    assert download.get_data() == b"report of FILES"
    assert download.headers["Content-Disposition"] == "attachment; filename=report.txt"
    assert download.headers["Cache-Control"] == "no-store"
    db.rollback()
    files = db.scalars(select(JobFile).where(JobFile.job_id == job_id)).all()
    assert {f.purpose for f in files} == {FilePurpose.INPUT, FilePurpose.RESULT}


def test_a_finished_result_survives_a_restart(app, db, owner, database_url):
    """Everything is in the database: a brand-new app (a restarted server) shows it."""
    from tests.world import logged_in_client

    job_id = submit(app, {"code": "KEPT"}, user=owner, institution_id=owner.institution_id)
    assert wait_for_job(database_url, job_id).state == JobState.SUCCEEDED
    restarted = started_server(database_url, "another-process-key")
    client = logged_in_client(restarted, owner)
    status = client.get(f"/jobs/{job_id}/status").get_json()
    assert status["state"] == "succeeded" and status["done"] == 3
    with restarted.app_context():
        app_db.engine.dispose()


def test_a_first_request_starts_the_job_thread_which_runs_what_was_queued(
    app, db, owner, database_url
):
    """A job queued while no job thread ran (its server stopped first, or a command queued
    it) runs once a request reaches a newly started server: the first request starts the
    thread. (The ``app`` fixture's own thread starts only when a job is handed to it.)"""
    from surveys.jobs.backends import jobs_state

    job_id = stored_as_queued(app, owner, "WOKEN")
    started = started_server(database_url, "a-newly-started-server-key")
    assert jobs_state(started).runner is None
    assert started.test_client().get("/login").status_code == 200
    assert jobs_state(started).runner.alive()
    assert wait_for_job(database_url, job_id).state == JobState.SUCCEEDED
    assert institutions_named(db, "WOKEN") == 1
    with started.app_context():
        app_db.engine.dispose()


def test_expired_jobs_are_purged_with_their_files(app, db, owner, database_url):
    job_id = submit(app, {"code": "OLD"}, user=owner, data=b"personal data")
    assert wait_for_job(database_url, job_id).state == JobState.SUCCEEDED
    with app.app_context():
        assert services.purge_expired_jobs(app_db.session) == 0  # not yet
        later = utcnow().replace(year=utcnow().year + 1)
        assert services.purge_expired_jobs(app_db.session, now=later) == 1
        app_db.session.commit()
    db.rollback()
    assert db.get(Job, job_id) is None
    assert db.scalar(select(func.count()).select_from(JobFile)) == 0
