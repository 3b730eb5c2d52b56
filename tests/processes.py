"""Real processes for tests: ``hamkor serve`` / gunicorn, ``hamkor worker``, and an HTTP client.

Servers bind 127.0.0.1 on a free port; every wait is bounded; every process is stopped by its
own process group id at the end (never by name).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HAMKOR = str(Path(sys.executable).with_name("hamkor"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answers on 127.0.0.1:{port}") from None
            time.sleep(0.1)


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._handle = log.open("ab")
        self.popen = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=env,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: killing it kills its children too
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left."""
        if self.popen.poll() is None:
            self.kill_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill_group(signal.SIGKILL)
                self.popen.wait(5)
        self.kill_group(signal.SIGKILL)  # children that outlived their parent
        self._handle.close()

    def kill(self) -> None:
        """SIGKILL the group at once: for a server whose test has checked all it needed.

        A graceful stop of ``hamkor serve`` takes 2-9 s after its workers log that they exit
        (measured 2026-12-01), and no test reads anything from that shutdown.
        """
        self.kill_group(signal.SIGKILL)
        self.popen.wait(10)
        self._handle.close()


def process_env(**settings: str) -> dict[str, str]:
    """The environment of a Hamkor process started by a test (nothing of the parent's
    ``HAMKOR_*`` leaks in; the test modules are importable for test job kinds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMKOR_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(settings)
    return env


class Browserless:
    """A cookie-keeping HTTP client that fills in CSRF tokens, as a browser's forms would."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.opener.addheaders = [("Accept-Language", "en")]  # tests read English

    def get(self, path: str, timeout: float = 30.0) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def json(self, path: str) -> dict:
        status, body = self.get(path)
        assert status == 200, (status, body[:300])
        return json.loads(body)

    def post(
        self, path: str, fields: dict[str, str], *, token_from: str, files=None
    ) -> tuple[int, str, str]:
        """POST a form (multipart when ``files``); returns (status, final URL, body)."""
        _, page = self.get(token_from)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        fields = {**fields, "csrf_token": token}
        if files:
            boundary = "----hamkor-test-boundary"
            body = b""
            for name, value in fields.items():
                body += (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n"
                ).encode()
            for name, (filename, data) in files.items():
                body += (
                    (
                        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                    ).encode()
                    + data
                    + b"\r\n"
                )
            body += f"--{boundary}--\r\n".encode()
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Content-Type": content_type}
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode()

    def login(self, email: str, password: str) -> None:
        status, url, body = self.post(
            "/login", {"email": email, "password": password}, token_from="/login"
        )
        assert status == 200 and "/login" not in url, (status, url, body[-500:])

    def wait_for_job(self, job_id: int, *, until=None, timeout: float = 60.0) -> dict:
        until = until or (lambda status: status["finished"])
        deadline = time.monotonic() + timeout
        while True:
            status = self.json(f"/jobs/{job_id}/status")
            if until(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id}: still {status} after {timeout} s")
            time.sleep(0.1)
