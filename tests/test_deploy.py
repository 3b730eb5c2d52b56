"""docs/deploy.md, run: gunicorn and ``hamkor worker`` as its systemd units start them.

The ``ExecStart`` lines are read from the guide itself (so the guide cannot drift from what
works) and started against PostgreSQL and Redis, with the guide's ``hamkor init-db`` first.
A staff member then uploads a registry file through the web: the request answers at once,
and the import runs on the worker, not in gunicorn. TLS and nginx are not started here.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from surveys.jobs.models import Job, JobState
from surveys.registry.models import Programme
from tests.processes import (
    ROOT,
    Browserless,
    Process,
    free_port,
    process_env,
    wait_until_listening,
)
from tests.registry.conftest import example

GUIDE = ROOT / "docs" / "deploy.md"
BIN = Path(sys.executable).parent


def exec_start(unit: str) -> list[str]:
    """The ``ExecStart`` command of ``unit`` in the guide, with this venv's programs."""
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split(f"# /etc/systemd/system/{unit}", 1)[1].split("```", 1)[0]
    line = re.search(r"^ExecStart=(.+)$", block, re.MULTILINE).group(1)
    args = shlex.split(line)
    args[0] = str(BIN / Path(args[0]).name)
    return args


def test_the_guide_names_what_a_deployment_needs():
    text = GUIDE.read_text(encoding="utf-8")
    for needed in (
        "HAMKOR_REDIS_URL",
        "HAMKOR_TRUSTED_PROXIES=1",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
        "pg_dump --format=custom",
        "pg_restore",
        "HAMKOR_SECRET_KEY",
        "A second web host",
        "hamkor init-db",
    ):
        assert needed in text, needed
    assert exec_start("hamkor-worker@.service")[1:] == ["worker"]


def test_gunicorn_and_a_worker_as_the_guide_starts_them(app, database_url, redis_url, tmp_path):
    """(``app`` only so that the tables are emptied afterwards.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("the guide deploys on PostgreSQL")
    queue = f"deploy-{uuid.uuid4().hex[:8]}"
    env = process_env(
        HAMKOR_SECRET_KEY="deploy-test-secret-0123456789abcdef",
        HAMKOR_DATABASE_URL=database_url,
        HAMKOR_REDIS_URL=redis_url,
        HAMKOR_JOB_QUEUE=queue,
        HAMKOR_TRUSTED_PROXIES="1",
        HAMKOR_BASE_URL="https://hamkor.example.uz",
    )
    hamkor = str(BIN / "hamkor")

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [hamkor, *args],
            env=env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("init-db")
    run("institution", "add", "DEPLOY", "Deployment test institute")
    run(
        "user",
        "add",
        "staff@deploy.example",
        "--role",
        "staff",
        "--institution",
        "DEPLOY",
        "--password-stdin",
        stdin="a long deploy password\n",
    )
    port = free_port()
    web_command = exec_start("hamkor-web.service")
    web_command[web_command.index("--bind") + 1] = f"127.0.0.1:{port}"
    web_command[web_command.index("--workers") + 1] = "2"
    assert web_command[-1] == "surveys:create_app()"
    web = Process(web_command, env, tmp_path / "gunicorn.log")
    worker = Process(exec_start("hamkor-worker@.service"), env, tmp_path / "worker.log")
    try:
        wait_until_listening(port)
        browser = Browserless(f"http://127.0.0.1:{port}")
        browser.login("staff@deploy.example", "a long deploy password")
        status, url, page = browser.post(
            "/registry/import",
            {"kind": "programmes", "submit": "1"},
            token_from="/registry/import",
            files={"file": ("programmes.csv", example("programmes.csv"))},
        )
        assert status == 200, page[-1000:]
        job_id = int(re.fullmatch(r".*/jobs/(\d+)", url).group(1))
        final = browser.wait_for_job(job_id, timeout=120)
        assert final["state"] == "succeeded", (final, worker.output()[-3000:])
        _, page = browser.get(f"/jobs/{job_id}")
        assert "programmes.csv imported: 6 created, 0 updated, 0 unchanged." in page, page[-3000:]
        engine = create_engine(database_url)
        try:
            with Session(engine) as session:
                job = session.get(Job, job_id)
                state, runner = job.state, job.worker
                codes = set(session.scalars(select(Programme.code)))
        finally:
            engine.dispose()
        assert state == JobState.SUCCEEDED
        assert runner.startswith("rq:")  # run by the worker, not by gunicorn
        assert len(codes) == 6
    finally:
        web.kill()  # (its graceful stop takes seconds and is not what this test checks)
        worker.stop()
        from redis import Redis

        client = Redis.from_url(redis_url)
        for key in client.scan_iter(f"*{queue}*"):
            client.delete(key)
        client.close()
