"""Load test of the employer form: N employers completing whole forms at once.

gunicorn serves the app on a PostgreSQL database of its own (the demo data plus open
attestation campaigns for every cohort, so thousands of links are open). ``--clients``
threads each play an employer with a browser: GET the personal link, post every section
with the page's CSRF token and "next", post the last one with "submit", and follow every
303 as a browser does (9 requests for the 4-section attestation); then take the next link.

Printed: complete submissions/s, p50/p95 per request, per submission and of the submit
POST, and the server's CPU time per submission (user + system time of the gunicorn master
and workers, read from ``/proc`` before and after the measured window; the PostgreSQL
server's own CPU is not included). In the same run, a bare Flask + SQLAlchemy app that
inserts one row per POST, served by the same gunicorn on the same PostgreSQL with the same
clients, gives the ceiling; Hamkor is printed as a ratio of it.

Every server binds 127.0.0.1 on a free port of 52200-52299 and is killed by its PIDs at
the end; every phase is bounded in submissions and seconds. The databases are
``perf_submit_template`` (built once: ``hamkor demo`` + open campaigns; ``--rebuild`` to
build it again), ``perf_submit_run`` (a fresh copy of the template for each run) and
``perf_submit_ceiling``.

    python benchmarks/submit_load.py                       # 8 clients, 2 workers, 20 s
    python benchmarks/submit_load.py --rounds 3 --workers 2,4   # medians; 2 and 4 take turns
    python benchmarks/submit_load.py --clients 16 --workers 4 --duration 30
    python benchmarks/submit_load.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.employer_browser import REQUEST_TIMEOUT, Browser, FormRun, complete_form  # noqa: E402

#: The load test's own secret key: links are derived from it (never used anywhere else).
SECRET = "submit-load-benchmark-secret-key-0123456789"
TEMPLATE_DB = "perf_submit_template"
RUN_DB = "perf_submit_run"
CEILING_DB = "perf_submit_ceiling"
#: Marks a template that was built to the end (a broken build is rebuilt).
TEMPLATE_MARK = "hamkor submit_load template v1"
PORTS = range(52200, 52300)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- databases


def _with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead of its own."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def _database_comment(admin, name: str) -> str | None:
    from sqlalchemy import text

    with admin.connect() as conn:
        return conn.execute(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = :name"
            ),
            {"name": name},
        ).scalar()


def _recreate(admin, name: str, template: str | None = None) -> None:
    from sqlalchemy import text

    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))


def build_template(postgres: str, rebuild: bool) -> None:
    """The demo data plus an open attestation campaign per institution and cohort."""
    admin = _admin(postgres)
    if not rebuild and _database_comment(admin, TEMPLATE_DB) == TEMPLATE_MARK:
        admin.dispose()
        return
    print(f"building {TEMPLATE_DB} (hamkor demo + open campaigns; once) …", flush=True)
    _recreate(admin, TEMPLATE_DB)
    url = _with_database(postgres, TEMPLATE_DB)
    env = _server_env(url)
    subprocess.run(
        [sys.executable, "-c", "from surveys.cli import main; main()", "demo", "--links", "0"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=900,
        cwd=ROOT,
    )
    _open_more_campaigns(url)
    from sqlalchemy import text

    with admin.connect() as conn:
        conn.execute(text(f"COMMENT ON DATABASE \"{TEMPLATE_DB}\" IS '{TEMPLATE_MARK}'"))
    admin.dispose()


def _open_more_campaigns(url: str, want: int = 4000) -> None:
    """Open attestation campaigns for every cohort (the demo opens one, for the newest),
    round after round, until at least ``want`` links are open: a run never runs out."""
    from sqlalchemy import func, select

    from surveys import create_app
    from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
    from surveys.campaigns.services import create_campaign, create_invitations
    from surveys.extensions import db
    from surveys.instruments.services import latest_version
    from surveys.registry.models import Graduate, Institution, Programme

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    today = dt.date.today()
    with app.app_context():
        session = db.session
        version = latest_version(session, "attestation")
        years = sorted(set(session.scalars(select(Graduate.graduation_year))))
        round_ = 0
        while True:
            open_links = session.scalar(
                select(func.count(Invitation.id))
                .join(Campaign, Campaign.id == Invitation.campaign_id)
                .where(Campaign.status == CampaignStatus.OPEN)
            )
            if open_links >= want:
                break
            round_ += 1
            for institution in session.scalars(select(Institution)).all():
                programme_ids = list(
                    session.scalars(
                        select(Programme.id).where(Programme.institution_id == institution.id)
                    )
                )
                for year in years:
                    campaign = create_campaign(
                        session,
                        institution_id=institution.id,
                        instrument_version_id=version.id,
                        year=year,
                        programme_ids=programme_ids,
                        name=f"{institution.code} attestation {year} (load test {round_})",
                        opens_on=today - dt.timedelta(days=10),
                        closes_on=today + dt.timedelta(days=365),
                        allow_duplicate=True,  # round after round over the same cohorts
                    )
                    create_invitations(session, campaign, secret_key=SECRET, language="ru")
            session.flush()
        session.commit()
        db.engine.dispose()


def open_tokens(url: str) -> list[str]:
    """The link tokens of every open invitation without a response, in a fixed order."""
    from sqlalchemy import create_engine, select

    from surveys.campaigns.models import Campaign, CampaignStatus, Invitation
    from surveys.campaigns.tokens import token_for
    from surveys.responses.models import Response

    engine = create_engine(url)
    with engine.connect() as conn:
        nonces = conn.scalars(
            select(Invitation.nonce)
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .where(Campaign.status == CampaignStatus.OPEN)
            .where(Invitation.withdrawn_at.is_(None))
            .where(~Invitation.id.in_(select(Response.invitation_id)))
            .order_by(Invitation.id)
        ).all()
    engine.dispose()
    return [token_for(nonce, SECRET) for nonce in nonces]


def count_submitted(url: str) -> int:
    from sqlalchemy import create_engine, func, select

    from surveys.responses.models import Response, ResponseStatus

    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.scalar(select(func.count()).where(Response.status == ResponseStatus.SUBMITTED))
    engine.dispose()
    return int(found or 0)


# --------------------------------------------------------------------------- servers


def _server_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HAMKOR_DATABASE_URL=database_url,
        HAMKOR_SECRET_KEY=SECRET,
        HAMKOR_ENV="development",
        HAMKOR_RATELIMIT_STORAGE_URI="memory://",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    return env


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 52200-52299")


@dataclass
class Server:
    """A gunicorn master started by this script, and its port."""

    process: subprocess.Popen
    port: int

    @property
    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)]

    def stop(self) -> None:
        """SIGTERM the master; SIGKILL whatever of it is left after 10 s (by PID)."""
        pids = self.pids
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def start_gunicorn(app_spec: str, env: dict[str, str], workers: int) -> Server:
    """gunicorn (sync workers, no access log) on 127.0.0.1; waits until every worker is up."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--preload",  # as ``hamkor serve`` does: the app is built once, workers fork
            "--config",  # as docs/deploy.md and ``hamkor serve``: gc.freeze() in each worker
            "python:surveys.gunicorn_config",
            app_spec,
        ],
        env=env,
        cwd=ROOT,
    )
    server = Server(process, port)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("gunicorn did not answer within 60 s") from None
            time.sleep(0.1)
    # every worker forked (the app was built in the master: --preload)
    while len(children(process.pid)) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    return server


def children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def cpu_seconds(server: Server) -> float:
    """User + system CPU of the master, its live workers and the workers it reaped."""
    total = 0
    for pid in server.pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[11..14] = utime, stime, cutime, cstime (man 5 proc, fields 14-17)
        total += sum(int(v) for v in fields[11:15])
    return total / CLK_TCK


# --------------------------------------------------------------------------- load phases


@dataclass
class Phase:
    """What one measured window did."""

    done: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    per_unit: list[float] = field(default_factory=list)  #: seconds per submission / request
    timings: list[tuple[str, float]] = field(default_factory=list)  #: (kind, seconds)


def run_clients(
    clients: int, deadline_s: float, limit: int, work: Callable[[int, list], bool], server: Server
) -> Phase:
    """``clients`` threads call ``work(i, timings)`` until ``deadline_s`` or ``limit`` units."""
    phase = Phase()
    counter = iter(range(limit))
    lock = threading.Lock()
    start = time.perf_counter()
    stop_at = start + deadline_s
    cpu_before = cpu_seconds(server)

    def loop() -> None:
        while time.perf_counter() < stop_at:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            began = time.perf_counter()
            try:
                ok = work(index, phase.timings)
            except OSError as exc:  # a timeout or a refused connection: a failed unit
                print(f"client error: {exc!r}", file=sys.stderr)
                ok = False
            with lock:
                if ok:
                    phase.done += 1
                    phase.per_unit.append(time.perf_counter() - began)
                else:
                    phase.failed += 1

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=deadline_s + 4 * REQUEST_TIMEOUT)
    phase.seconds = time.perf_counter() - start
    phase.cpu = cpu_seconds(server) - cpu_before
    return phase


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) in milliseconds."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return 1000 * values[0]
    return 1000 * statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _employer(port: int, token: str, seed: int, timings: list) -> bool:
    """One employer completes the form of ``token``; True when the thank-you page came."""
    return complete_form(port, FormRun(token), random.Random(seed), timings).thanked


def hamkor_phase(args, postgres: str, workers: int) -> tuple[Phase, int]:
    admin = _admin(postgres)
    _recreate(admin, RUN_DB, template=TEMPLATE_DB)
    admin.dispose()
    url = _with_database(postgres, RUN_DB)
    tokens = open_tokens(url)
    warm = args.clients * 2
    if len(tokens) < warm + args.max_submissions:
        args.max_submissions = len(tokens) - warm
    server = start_gunicorn("surveys:create_app()", _server_env(url), workers)
    try:
        # warm-up: every worker renders every page once (templates, pools) before measuring
        run_clients(
            args.clients,
            120,
            warm,
            lambda i, t: _employer(server.port, tokens[i], i, []),
            server,
        )
        rest = tokens[warm:]
        phase = run_clients(
            args.clients,
            args.duration,
            args.max_submissions,
            lambda i, t: _employer(server.port, rest[i], warm + i, t),
            server,
        )
    finally:
        server.stop()
    return phase, count_submitted(url)


def ceiling_phase(args, postgres: str, workers: int) -> Phase:
    admin = _admin(postgres)
    _recreate(admin, CEILING_DB)
    admin.dispose()
    env = _server_env(_with_database(postgres, CEILING_DB))
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env["PYTHONPATH"]])
    server = start_gunicorn("submit_load:ceiling_app()", env, workers)

    def post(i: int, timings: list) -> bool:
        status, body, _ = Browser(server.port, timings).request(
            "POST", "/rows", [("client", str(i % args.clients)), ("value", str(i))]
        )
        return status == 200 and body.startswith("ok")

    try:
        run_clients(args.clients, 60, args.clients * 10, post, server)  # warm-up
        return run_clients(args.clients, args.duration, 10**6, post, server)
    finally:
        server.stop()


def ceiling_app():
    """The ceiling: Flask + SQLAlchemy inserting one row per POST (``HAMKOR_DATABASE_URL``)."""
    from flask import Flask, request
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, func
    from sqlalchemy.orm import Session

    engine = create_engine(os.environ["HAMKOR_DATABASE_URL"], pool_pre_ping=True)
    metadata = MetaData()
    rows = Table(
        "ceiling_rows",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("client", String(32)),
        Column("value", Integer),
        Column("created_at", DateTime(timezone=True), server_default=func.now()),
    )
    metadata.create_all(engine, checkfirst=True)
    engine.dispose()  # built in gunicorn's master (--preload): no connection may cross a fork
    app = Flask(__name__)

    @app.post("/rows")
    def add_row():
        with Session(engine) as session, session.begin():
            session.execute(
                rows.insert().values(
                    client=request.form["client"], value=int(request.form["value"])
                )
            )
        return "ok\n"

    return app


# --------------------------------------------------------------------------- report


def _p50_p95(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5):6.1f} ms   p95 {pct(values, 0.95):6.1f} ms"


#: The headline figures of a run (what the goals and the summary of rounds are about).
CPU_PER_SUBMISSION = "server CPU per submission (ms)"
SUBMIT_P95 = "submit POST p95 (ms)"
SUBMISSIONS_PER_S = "complete submissions/s"
CEILING_RATIO = "CPU per request, × the ceiling's"


def figures(phase: Phase, ceiling: Phase | None) -> dict[str, float]:
    """A run's headline figures, by the names above (the ratio only with a ceiling)."""
    found = {
        CPU_PER_SUBMISSION: 1000 * phase.cpu / max(phase.done, 1),
        SUBMIT_P95: pct([s for kind, s in phase.timings if kind == "submit"], 0.95),
        SUBMISSIONS_PER_S: phase.done / phase.seconds,
    }
    if ceiling is not None:
        ceiling_cpu = ceiling.cpu / max(ceiling.done, 1)
        found[CEILING_RATIO] = phase.cpu / max(len(phase.timings), 1) / ceiling_cpu
    return found


def report(
    args,
    workers: int,
    phase: Phase,
    ceiling: Phase | None,
    in_database: int,
    found: dict[str, float],
) -> None:
    """Print a run; ``found`` is its :func:`figures`."""
    requests_ = [s for _, s in phase.timings]
    submits = [s for kind, s in phase.timings if kind == "submit"]
    per_submission_requests = len(requests_) / max(phase.done + phase.failed, 1)
    rate = found[SUBMISSIONS_PER_S]
    load = os.getloadavg()
    print()
    print(
        f"Hamkor: {args.clients} clients, {workers} gunicorn workers, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end"
    )
    print(
        f"  complete submissions     {phase.done} in {phase.seconds:.1f} s = {rate:.2f}/s "
        f"({per_submission_requests:.1f} requests each, {phase.failed} failed)"
    )
    print(f"  per request              {_p50_p95(requests_)}")
    print(f"  per submission           {_p50_p95(phase.per_unit)}")
    print(f"  submit POST (to its 303) {_p50_p95(submits)}")
    print(
        f"  server CPU               {phase.cpu:.2f} s = {found[CPU_PER_SUBMISSION]:.1f} ms "
        "per submission, "
        f"{1000 * phase.cpu / max(len(requests_), 1):.1f} ms per request"
    )
    print(f"  submitted responses in the database after the run: {in_database}")
    if ceiling is None:
        return
    c_rate = ceiling.done / ceiling.seconds
    c_cpu = 1000 * ceiling.cpu / max(ceiling.done, 1)
    c_times = [s for _, s in ceiling.timings]
    h_rate = len(requests_) / phase.seconds
    print()
    print("Ceiling: bare Flask + SQLAlchemy, one INSERT per POST, same gunicorn and PostgreSQL")
    print(
        f"  {ceiling.done} requests in {ceiling.seconds:.1f} s = {c_rate:.1f}/s, "
        f"p50 {pct(c_times, 0.5):.1f} ms, p95 {pct(c_times, 0.95):.1f} ms, "
        f"server CPU {c_cpu:.2f} ms per request"
    )
    print(
        f"  Hamkor's requests/s are {h_rate / c_rate:.1%} of the ceiling's "
        f"({h_rate:.1f} vs {c_rate:.1f}); CPU per request {found[CEILING_RATIO]:.1f}× the ceiling's"
    )


def summarise(runs: dict[int, list[dict[str, float]]]) -> None:
    """Median and range of each figure over the rounds, per worker count."""
    print()
    rounds = max(len(found) for found in runs.values())
    print(f"Summary of {rounds} rounds (median, and the range):")
    for workers, found in runs.items():
        print(f"  {workers} workers")
        for name in found[0]:
            values = [run[name] for run in found]
            print(
                f"    {name:<34} {statistics.median(values):7.1f}"
                f"   ({min(values):.1f} – {max(values):.1f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent employers")
    parser.add_argument(
        "--workers",
        type=_worker_counts,
        default=[2],
        help="gunicorn sync workers (default: hamkor serve's, one per core of the 2-core "
        "machines this was measured on; docs/deploy.md); several (2,4) take turns each round",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure this many times and print the median of each figure: the same code "
        "measured a fifth apart within an hour on the development machines",
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds measured per phase")
    parser.add_argument("--max-submissions", type=int, default=3000, help="cap per run")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "HAMKOR_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="any database of the PostgreSQL server (the benchmark makes its own perf_* ones)",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the template again")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the bare-app phase")
    args = parser.parse_args()
    build_template(args.postgres, args.rebuild)
    runs: dict[int, list[dict[str, float]]] = {workers: [] for workers in args.workers}
    for _ in range(args.rounds):
        for workers in args.workers:
            phase, in_database = hamkor_phase(args, args.postgres, workers)
            ceiling = None if args.no_ceiling else ceiling_phase(args, args.postgres, workers)
            found = figures(phase, ceiling)
            report(args, workers, phase, ceiling, in_database, found)
            runs[workers].append(found)
    if args.rounds > 1 or len(args.workers) > 1:
        summarise(runs)


def _worker_counts(raw: str) -> list[int]:
    """``--workers``: one count, or several separated by commas."""
    try:
        counts = [int(part) for part in raw.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of workers: {raw!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"workers must be 1 or more: {raw!r}")
    return counts


if __name__ == "__main__":
    main()
