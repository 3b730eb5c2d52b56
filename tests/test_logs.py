"""No log line holds a survey link's token: a leaked log opens nothing.

Read from real logs: the access and error log of ``hamkor serve`` (gunicorn, in a process of
its own), the development server's request log (werkzeug), and the app's own error lines.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from surveys.campaigns.tokens import token_hash
from surveys.logs import mask_tokens
from tests.campaigns.builders import SECRET
from tests.live import serving
from tests.processes import free_port
from tests.responses.conftest import make_link

ROOT = Path(__file__).resolve().parent.parent


def test_mask_tokens_keeps_the_line_readable_and_the_invitation_findable():
    token = "fQtfTc31W_YaGXTnBIYMclgOAWvxK7mFcwpjv_K-gpw"
    line = f'127.0.0.1 - - "GET /s/{token}?section=2 HTTP/1.1" 200 "/login?next=%2Fs%2F{token}"'
    masked = mask_tokens(line)
    assert token not in masked
    prefix = token_hash(token)[:8]
    assert masked == (
        f'127.0.0.1 - - "GET /s/[token {prefix}]?section=2 HTTP/1.1" 200 '
        f'"/login?next=%2Fs%2F[token {prefix}]"'
    )
    assert mask_tokens("GET /static/survey.js /registry/ /admin/users/3") == (
        "GET /static/survey.js /registry/ /admin/users/3"
    )


@pytest.fixture
def link(db, make_institution, make_programme, make_graduate, make_employer):
    return make_link(db, make_institution, make_programme, make_graduate, make_employer)


def _get(url: str, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as page:
            return page.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_access_and_error_log_of_hamkor_serve_hold_no_token(database_url, link, tmp_path):
    env = {
        **os.environ,
        "HAMKOR_DATABASE_URL": database_url,
        "HAMKOR_SECRET_KEY": SECRET,
        "PYTHONPATH": str(ROOT),
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "surveys", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _wait_for(base) is None:
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"server did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        statuses = [
            _get(f"{base}/s/{link.token}"),
            _get(f"{base}/s/{link.token}?section=2&lang=ru"),
            _get(f"{base}/s/{link.token}/autosave", data=b"section=1"),  # no CSRF token: 400
            _get(f"{base}/login?next=%2Fs%2F{link.token}"),
        ]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert statuses == [200, 200, 400, 200]
    text = log.read_text()
    assert link.token not in text and link.token[:20] not in text
    masked = f"[token {token_hash(link.token)[:8]}]"
    access_lines = [line for line in text.splitlines() if masked in line]
    assert len(access_lines) == 4, text[-3000:]
    assert any(f'"GET /s/{masked}?section=2&lang=ru HTTP/1.1" 200' in line for line in access_lines)
    assert any(f'"GET /login?next=%2Fs%2F{masked} HTTP/1.1" 200' in line for line in access_lines)


def _wait_for(base: str) -> int | None:
    try:
        return _get(f"{base}/login")
    except OSError:
        return None


def test_the_development_servers_request_log_holds_no_token(app, link, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    with serving(app) as base:
        assert _get(f"{base}/s/{link.token}") == 200
        assert _get(f"{base}/s/{link.token}/autosave", data=b"section=1") == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len([line for line in lines if "/s/[token " in line]) == 2, lines
    assert link.token not in caplog.text


def test_the_apps_error_lines_and_tracebacks_hold_no_token(app, link, caplog):
    """An unexpected failure on a link's page is logged with its traceback, masked."""

    def explode(token: str):
        raise RuntimeError(f"could not render /s/{token} at {dt.datetime.now(dt.UTC)}")

    app.add_url_rule("/s/<token>/explode", "explode", explode)
    caplog.set_level(logging.ERROR)
    page = app.test_client().get(f"/s/{link.token}/explode")
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.get_data(as_text=True)
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == (
        f"unhandled error on GET /s/[token {token_hash(link.token)[:8]}]/explode"
    )
    assert "RuntimeError: could not render /s/[token " in caplog.text  # the traceback is kept
    assert link.token not in caplog.text
