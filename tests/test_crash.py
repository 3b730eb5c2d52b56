"""A crash in the middle of a load: no acknowledged answer is lost, none is half-written.

``hamkor serve`` (gunicorn, two workers) runs on the test database while employers fill in
forms over HTTP; the master and every worker are killed with SIGKILL in mid-load, and the
server is started again. Then every submit that got its 303 is a submitted response holding
exactly the answers posted in every section, every section post that got its 303 is stored,
and no response anywhere holds part of a section: each section's answers are all there or
none are. The restarted server shows an acknowledged employer the thank-you page and takes
new forms.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from surveys.campaigns.services import create_invitations
from surveys.campaigns.tokens import token_for, token_hash
from surveys.instruments.services import latest_version, load_builtin_instruments
from surveys.responses.models import Response, ResponseStatus
from surveys.responses.services import stored_values
from tests import factories
from tests.campaigns.builders import SECRET, campaign_for, employ
from tests.employer_browser import Browser, FormRun, complete_form
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
#: Links made for the run; the load uses some of them before the crash, the rest after.
LINKS = 80
EMPLOYERS = 4
#: The crash comes once this many forms were acknowledged (or after CRASH_AFTER seconds).
SUBMITTED_BEFORE_CRASH = 6
CRASH_AFTER = 20.0


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a killed orphan may linger as a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


class Server:
    """``hamkor serve`` with two workers on the test database, on a free local port."""

    def __init__(self, database_url: str, log: Path):
        self.port = free_port()
        env = {
            **os.environ,
            "HAMKOR_DATABASE_URL": database_url,
            "HAMKOR_SECRET_KEY": SECRET,
            "HAMKOR_BASE_URL": "http://hamkor.test",
            "PYTHONPATH": str(ROOT),
        }
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "surveys",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    "2",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.log = log
        deadline = time.monotonic() + 60
        while len(_children(self.process.pid)) < 2 or not self._answers():
            assert self.process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not start: " + log.read_text()[-3000:]
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def kill_everything(self) -> list[int]:
        """SIGKILL the master and every worker at once; returns their PIDs."""
        pids = [self.process.pid, *_children(self.process.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        return pids

    def stop(self) -> None:
        """End the server after the test: SIGKILL at once (a graceful stop of gunicorn takes
        seconds, and nothing is checked after it)."""
        if self.process.poll() is None:
            self.kill_everything()


def _links(db, count: int) -> list[str]:
    """An open attestation campaign with ``count`` invitations (English); their tokens."""
    load_builtin_instruments(db)
    institution = factories.make_institution(db, code="CRASH", name="Crash Test Institute")
    programme = factories.make_programme(db, institution, code="CT", name="Chemical Technology")
    employer = factories.make_employer(db, name="Navoiyazot JSC")
    for n in range(count):
        graduate = factories.make_graduate(
            db, programme, full_name=f"Graduate {n}", graduation_year=2025
        )
        employ(db, graduate, employer)
    today = dt.date.today()
    campaign = campaign_for(
        db,
        latest_version(db, "attestation"),
        [programme],
        opens_on=today - dt.timedelta(days=3),
        closes_on=today + dt.timedelta(days=30),
    )
    invitations = create_invitations(db, campaign, secret_key=SECRET, language="en")
    db.commit()
    return [token_for(invitation.nonce, SECRET) for invitation in invitations]


def _as_posted(value) -> str | list[str]:
    """A stored answer in the shape a browser posts it."""
    if isinstance(value, list):
        return sorted(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def test_kill_9_mid_load_loses_no_acknowledged_answer_and_half_writes_nothing(
    db, database_url, tmp_path
):
    tokens = _links(db, LINKS)
    sections = [
        [item["key"] for item in section["items"]]
        for section in latest_version(db, "attestation").definition["sections"]
    ]
    log = tmp_path / "serve.log"
    server = Server(database_url, log)
    runs: list[FormRun] = []
    queue = iter(tokens)
    lock = threading.Lock()
    crashed = threading.Event()

    def employer(seed: int) -> None:
        rng = random.Random(seed)
        while not crashed.is_set():
            with lock:
                token = next(queue, None)
            if token is None:
                return
            run = FormRun(token)
            with lock:
                runs.append(run)
            try:
                complete_form(server.port, run, rng)
            except (OSError, http.client.HTTPException):  # the server died under this request
                return

    threads = [threading.Thread(target=employer, args=(n,)) for n in range(EMPLOYERS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + CRASH_AFTER
        while time.monotonic() < deadline:
            with lock:
                done = sum(run.submitted for run in runs)
            if done >= SUBMITTED_BEFORE_CRASH:
                break
            time.sleep(0.02)
        crashed.set()
        killed = server.kill_everything()  # while the employers are in mid-request
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        assert len(killed) == 3  # the master and both workers
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in killed) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(pid) for pid in killed)

        acknowledged = [run for run in runs if run.submitted]
        cut_short = [run for run in runs if not run.submitted]
        assert len(acknowledged) >= SUBMITTED_BEFORE_CRASH, log.read_text()[-3000:]
        assert cut_short, "the crash came after every form was done: nothing was in flight"

        server = Server(database_url, log)  # an operator starts it again

        db.rollback()
        stored = {
            response.invitation.token_hash: response for response in db.scalars(select(Response))
        }
        for run in acknowledged:
            response = stored[token_hash(run.token)]
            assert response.status == ResponseStatus.SUBMITTED
            values = {key: _as_posted(v) for key, v in stored_values(response).items()}
            posted = {
                key: sorted(v) if isinstance(v, list) else v
                for answers in run.saved.values()
                for key, v in answers.items()
            }
            assert set(posted) == {key for keys in sections for key in keys}
            assert values == posted
        for run in cut_short:  # every save acknowledged before the crash is there as sent
            response = stored.get(token_hash(run.token))
            if run.saved:
                assert response is not None
                values = {key: _as_posted(v) for key, v in stored_values(response).items()}
                for answers in run.saved.values():
                    for key, value in answers.items():
                        assert values[key] == (sorted(value) if isinstance(value, list) else value)
        for response in stored.values():  # anywhere: a section is all there or not at all
            answered = set(stored_values(response))
            for keys in sections:
                assert answered & set(keys) in (set(), set(keys)), (response.id, keys)
            if response.status == ResponseStatus.SUBMITTED:
                assert answered == {key for keys in sections for key in keys}

        # the restarted server shows an acknowledged employer what was received ...
        status, page, _ = Browser(server.port).request("GET", f"/s/{acknowledged[0].token}")
        assert status == 200 and "Thank you, your assessment has been received" in page
        # ... and takes new forms
        unused = next(token for token in reversed(tokens) if token not in {r.token for r in runs})
        fresh = complete_form(server.port, FormRun(unused), random.Random(99))
        assert fresh.submitted and fresh.thanked
    finally:
        crashed.set()
        server.stop()
