"""Benchmark: registry imports end to end through the web, as background jobs.

Each scenario runs in a fresh process (so its peak memory is its own): a staff member posts
the file on the upload page (the request only stores it with a job and answers 303), the
job runs in the server's job thread, and its status is polled as the progress page polls it
(after 0.7 s, then 25 % later each time, at most every 4 s; ``--poll-every`` sets a fixed
interval). The clock stops when the job finished, as the job itself recorded it
(``finished_at``), so the figure does not depend on when the next poll happened to come.
Printed per scenario: rows, file size, the upload request's time, seconds end to end, CPU
seconds of the process (the job thread, the polls and the upload) and, on a local
PostgreSQL, of the database server's processes serving it, the process's peak memory
(``ru_maxrss``) before and after the import, and how many polls were made.

Polls run in the process that runs the job (as with the thread backend), where the job
thread waits for the GIL after each database round trip: a poll every 50 ms, as this
benchmark made until 2026-12-01, added 1.0 CPU s and 4.8 s to 100,000 graduates on
PostgreSQL (150 polls; 16.1 s against 11.3 s, back to back at load 8).

Scenarios (``--scenario``, default: the first four):

- ``graduates-csv``: N graduates (default 100,000) imported from CSV into an empty registry;
- ``graduates-csv-again``: the same file imported a second time (every row unchanged);
- ``graduates-xlsx``: the same graduates from an XLSX workbook;
- ``bomb``: "Check only" of the XLSX of issue 9 that unpacks 0.2 MB to 56 MB (354,000 rows):
  refused at the row limit (``HAMKOR_IMPORT_MAX_ROWS``, 200,000);
- ``million-csv``: "Check only" of a 1,000,000-row CSV: refused at the row limit;
- ``million-csv-uncapped``: the same with the limit raised to 1,000,001: checked in full,
  memory bounded by a chunk of rows.

Usage::

    python benchmarks/imports.py                       # SQLite in a temporary folder
    python benchmarks/imports.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    python benchmarks/imports.py --scenario bomb --scenario million-csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SCENARIOS = ["graduates-csv", "graduates-csv-again", "graduates-xlsx", "bomb"]
ALL_SCENARIOS = [*DEFAULT_SCENARIOS, "million-csv", "million-csv-uncapped"]
PROGRAMMES = ["60710100", "60710200", "60410100", "60610100"]
PASSWORD = "benchmark password 0123"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def graduates_csv(rows: int) -> bytes:
    lines = ["student_number,full_name,programme_code,graduation_year,email"]
    lines += [
        f"B{n:07d},Graduate Number {n},{PROGRAMMES[n % 4]},{2020 + n % 5},g{n}@mail.example.uz"
        for n in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def graduates_xlsx(rows: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Graduates")
    sheet.append(["student_number", "full_name", "programme_code", "graduation_year", "email"])
    for n in range(rows):
        sheet.append(
            [f"B{n:07d}", f"Graduate Number {n}", PROGRAMMES[n % 4], 2020 + n % 5, f"g{n}@x.uz"]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def setup(database_url: str, code: str) -> None:
    """Schema at head, an institution with four programmes and a staff member."""
    from surveys import create_app
    from surveys.auth.models import Role, User
    from surveys.auth.passwords import hash_password
    from surveys.extensions import db
    from surveys.migrate import upgrade_database
    from surveys.registry.models import Institution, Programme, ProgrammeLevel

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "benchmark"})
    with app.app_context():
        upgrade_database(app)
        institution = Institution(code=code, name=f"Benchmark institute {code}")
        db.session.add(institution)
        db.session.flush()
        for programme in PROGRAMMES:
            db.session.add(
                Programme(
                    institution_id=institution.id,
                    code=programme,
                    name=f"Programme {programme}",
                    level=ProgrammeLevel.BACHELOR,
                    field_of_study="Engineering",
                )
            )
        db.session.add(
            User(
                email=f"staff@{code.lower()}.example",
                password_hash=hash_password(PASSWORD),
                role=Role.STAFF,
                institution_id=institution.id,
            )
        )
        db.session.commit()
        db.engine.dispose()


def run_scenario(args: argparse.Namespace) -> dict:
    """One scenario in this process: post the file, wait for the job, measure."""
    from surveys import create_app

    name, rows = args.scenario[0], args.rows
    max_rows = 200_000
    button = "submit"
    if name.startswith("graduates-csv"):
        data, filename = graduates_csv(rows), "graduates.csv"
    elif name == "graduates-xlsx":
        data, filename = graduates_xlsx(rows), "graduates.xlsx"
    elif name == "bomb":
        from tests.registry.files import xlsx_of_repeated_rows

        data = xlsx_of_repeated_rows(
            ["student_number", "full_name", "programme_code", "graduation_year"],
            ["S1", "Same Name", PROGRAMMES[0], 2024],
            rows=354_000,
        )
        filename, button, rows = "bomb.xlsx", "check", 354_000
    else:
        rows = 1_000_000
        data, filename, button = graduates_csv(rows), "million.csv", "check"
        if name == "million-csv-uncapped":
            max_rows = rows + 1
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "SECRET_KEY": "benchmark",
            "BABEL_DEFAULT_LOCALE": "en",
            "RATELIMIT_ENABLED": False,
            "HAMKOR_IMPORT_MAX_ROWS": max_rows,
            "MAX_CONTENT_LENGTH": 200 * 1024 * 1024,
        }
    )
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    email = f"staff@{args.code.lower()}.example"
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    page = client.get("/registry/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    before_rss, before_cpu = rss_mb(), cpu_s()
    upload_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    response = client.post(
        "/registry/import",
        data={
            "csrf_token": token,
            "kind": "graduates",
            "file": (io.BytesIO(data), filename),
            button: "1",
        },
        content_type="multipart/form-data",
    )
    upload_s = time.perf_counter() - started
    assert response.status_code == 303, response.status_code
    job = response.headers["Location"]
    delay, polls = args.poll_every or 0.7, 0
    while True:
        time.sleep(delay)
        status = client.get(f"{job}/status").get_json()
        polls += 1
        if status["finished"]:
            break
        if not args.poll_every:  # static/jobs.js
            delay = min(delay * 1.25, 4.0)
    seconds = _finished_after(app, int(job.rstrip("/").rsplit("/", 1)[-1]), upload_at)
    server_cpu = database_cpu_s(app)  # the server processes were started by this process
    page = client.get(job).get_data(as_text=True)
    outcome = re.search(r'<h2 id="report-title"[^>]*>([^<]+)</h2>', page)
    return {
        "scenario": name,
        "rows": rows,
        "file_mb": round(len(data) / 1048576, 2),
        "upload_request_s": round(upload_s, 3),
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu_s() - before_cpu, 2),
        "db_cpu_s": None if server_cpu is None else round(server_cpu, 2),
        "rss_before_mb": round(before_rss),
        "peak_rss_mb": round(rss_mb()),
        "polls": polls,
        "state": status["state"],
        "outcome": (outcome.group(1) if outcome else status.get("error") or "").strip()[:150],
    }


def database_cpu_s(app) -> float | None:
    """CPU seconds of the PostgreSQL server processes serving this benchmark's database
    (read from ``/proc``, so only when the server runs on this machine); None otherwise."""
    from sqlalchemy import text

    from surveys.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        pids = db.session.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
        db.session.remove()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _finished_after(app, job_id: int, upload_at: dt.datetime) -> float:
    """Seconds from the upload to the job's recorded end (``finished_at``)."""
    from surveys.extensions import db
    from surveys.jobs.models import Job

    with app.app_context():
        finished = db.session.get(Job, job_id).finished_at
        db.session.remove()
    if finished.tzinfo is None:  # SQLite keeps no time zone: the value is UTC
        finished = finished.replace(tzinfo=dt.UTC)
    return (finished - upload_at).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="graduates to import")
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--scenario", action="append", choices=ALL_SCENARIOS)
    parser.add_argument(
        "--poll-every", type=float, help="seconds between status polls (default: as the page)"
    )
    parser.add_argument("--code", help=argparse.SUPPRESS)  # set for the child processes
    args = parser.parse_args()
    if args.code:  # a child: one scenario, its figures as JSON on stdout
        print(json.dumps(run_scenario(args)))
        return
    folder = tempfile.mkdtemp(prefix="hamkor-bench-")
    database_url = args.database_url or f"sqlite:///{folder}/bench.db"
    code = f"B{uuid.uuid4().hex[:6].upper()}"
    setup(database_url, code)
    print(f"database: {database_url.split('@')[-1]}; institution {code}; {os.cpu_count()} CPUs")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    header = f"{'scenario':<22}{'rows':>9}{'file MB':>9}{'upload s':>9}{'seconds':>9}"
    header += f"{'CPU s':>8}{'DB CPU':>8}{'RSS MB':>8}{'peak MB':>9}{'polls':>6}  outcome"
    print(header)
    for scenario in args.scenario or DEFAULT_SCENARIOS:
        command = [
            sys.executable,
            __file__,
            "--rows",
            str(args.rows),
            "--database-url",
            database_url,
            "--scenario",
            scenario,
            "--code",
            code,
        ]
        if args.poll_every:
            command += ["--poll-every", str(args.poll_every)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            print(f"{scenario}: failed\n{done.stderr[-3000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['scenario']:<22}{r['rows']:>9,}{r['file_mb']:>9}{r['upload_request_s']:>9}"
            f"{r['seconds']:>9}{r['cpu_s']:>8}{r['db_cpu_s'] or '-':>8}{r['rss_before_mb']:>8}"
            f"{r['peak_rss_mb']:>9}"
            f"{r['polls']:>6}  "
            f"{r['state']}: {r['outcome']}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
