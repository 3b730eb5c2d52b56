"""The ``hamkor`` command line: help everywhere, init-db, and serving with gunicorn."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from surveys.cli import main
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))


def test_every_command_has_help():
    runner = CliRunner()
    seen = []
    for path, command in _all_commands(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
        assert command.help or command.short_help, f"hamkor {' '.join(path)} has no help text"
        seen.append(" ".join(path))
    assert {"init-db", "serve", "demo"} <= set(seen)


def test_init_db_then_serve_answers_on_the_login_page(tmp_path):
    env = {
        **os.environ,
        "HAMKOR_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "HAMKOR_SECRET_KEY": "serve-test-key",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "surveys", "init-db"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "newest schema" in done.stdout
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "surveys", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as page:
                    html = page.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    pytest.fail(f"server did not answer: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        assert 'name="email"' in html and 'name="password"' in html
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HAMKOR_SECRET_KEY"}
    env.update(
        HAMKOR_ENV="production",
        HAMKOR_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, "-m", "surveys", "init-db"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "HAMKOR_SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_gunicorn_workers_freeze_what_they_loaded():
    """``surveys.gunicorn_config`` (``hamkor serve`` and the guide's unit use it): once a
    worker has loaded the app, what it loaded is out of the garbage collector's walks."""
    import gc

    from surveys import gunicorn_config

    before = gc.get_freeze_count()
    try:
        gunicorn_config.post_worker_init(worker=None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
