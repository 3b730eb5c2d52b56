"""Benchmark: e-mailing a campaign of 10,000 invitations to a local SMTP server (aiosmtpd).

Builds a fresh database (SQLite in a temporary folder unless ``--database-url``, which must
name an empty database) with one open campaign inviting N employer-graduate pairs, starts
aiosmtpd on 127.0.0.1 in a process of its own (the real mail server is another machine: its
work must not count against the batch's), and runs the same batch as ``hamkor invitations
send`` (:func:`surveys.campaigns.delivery.deliver`) twice. Printed: messages sent, wall and
CPU seconds of the batch, messages per second, SMTP connections used, the server's CPU
seconds, the process's peak memory, the load average, and what the second run sent (the
goal: nothing).

    python benchmarks/send.py                  # 10,000 invitations, SQLite
    python benchmarks/send.py -n 2000 --database-url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


class Counter:
    """An aiosmtpd handler that accepts and counts (parsing is the receiver's cost)."""

    def __init__(self) -> None:
        self.messages = 0
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 OK"


def serve(port: int) -> None:
    """The mail server's process: aiosmtpd on ``port``; each line read from stdin is answered
    with "messages sessions cpu-seconds"; it stops when stdin closes."""
    from aiosmtpd.controller import Controller

    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    for _ in sys.stdin:
        print(handler.messages, handler.sessions, time.process_time(), flush=True)
    controller.stop()


class MailServer:
    """aiosmtpd in a child process (``benchmarks/send.py --serve PORT``)."""

    def __init__(self, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def counts(self) -> tuple[int, int, float]:
        """Messages received, SMTP sessions, the server's CPU seconds so far."""
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        messages, sessions, cpu = self.process.stdout.readline().split()
        return int(messages), int(sessions), float(cpu)

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def build(app, n: int) -> int:
    """One institution, programme, N graduates each employed by its own employer."""
    from surveys.campaigns.models import CampaignStatus
    from surveys.campaigns.services import create_campaign, create_invitations
    from surveys.extensions import db
    from surveys.instruments.services import latest_version, load_builtin_instruments
    from surveys.registry.models import (
        Employer,
        EmployerLink,
        EmploymentRecord,
        Graduate,
        Institution,
        Programme,
        ProgrammeLevel,
    )

    session = db.session
    load_builtin_instruments(session)
    institution = Institution(code="BENCH", name="Benchmark Institute")
    programme = Programme(
        institution=institution,
        code="P1",
        name="Programme",
        level=ProgrammeLevel.BACHELOR,
        field_of_study="Engineering",
    )
    session.add_all([institution, programme])
    session.flush()
    for start in range(0, n, 1000):
        rows = []
        for i in range(start, min(n, start + 1000)):
            graduate = Graduate(
                programme=programme,
                institution_id=institution.id,
                graduation_year=2025,
                full_name=f"Graduate {i}",
                student_number=f"S{i:06d}",
            )
            employer = Employer(tax_number=f"{i:09d}", name=f"Employer {i}")
            link = EmployerLink(
                institution=institution,
                employer=employer,
                name=f"Employer {i}",
                contact_email=f"hr{i}@employer.example",
            )
            record = EmploymentRecord(
                graduate=graduate,
                employer=employer,
                position="Engineer",
                start_date=dt.date(2025, 9, 1),
            )
            rows += [graduate, employer, link, record]
        session.add_all(rows)
        session.flush()
    today = dt.date.today()
    campaign = create_campaign(
        session,
        institution_id=institution.id,
        instrument_version_id=latest_version(session, "attestation").id,
        year=2025,
        programme_ids=[programme.id],
        name="Benchmark",
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=30),
        status=CampaignStatus.OPEN,
        language="en",
    )
    create_invitations(session, campaign, secret_key=app.config["SECRET_KEY"], language="en")
    session.commit()
    return campaign.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="invitations (default 10,000)")
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server's process
    parser.add_argument("--profile", help="write the first run's cProfile statistics here")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    from surveys import create_app
    from surveys.campaigns.delivery import deliver
    from surveys.extensions import db
    from surveys.migrate import upgrade_database

    folder = tempfile.mkdtemp(prefix="hamkor-send-")
    url = args.database_url or f"sqlite:///{folder}/send.db"
    with socket.socket() as probe:  # a free port for the server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = MailServer(port)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
            "HAMKOR_BASE_URL": "http://hamkor.bench",
            "HAMKOR_SMTP_HOST": "127.0.0.1",
            "HAMKOR_SMTP_PORT": port,
            "HAMKOR_SMTP_SENDER": "quality@bench.example",
        }
    )
    try:
        with app.app_context():
            upgrade_database(app)
            started = time.perf_counter()
            campaign_id = build(app, args.n)
            print(f"built {args.n} invitations in {time.perf_counter() - started:.1f} s")
            before = rss_mb()
            print(f"sending ({load()})")
            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            started, cpu = time.perf_counter(), time.process_time()
            first = deliver(db.engine, campaign_id, "invite", config=app.config)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            received, sessions, server_cpu = server.counts()
            print(
                f"first run: {first.sent} sent in {seconds:.1f} s wall, {cpu:.1f} s CPU "
                f"({first.sent / seconds:.0f} messages/s wall, {first.sent / cpu:.0f} per CPU "
                f"second), {first.connections} SMTP connection(s); the server received "
                f"{received} in {sessions} session(s), using {server_cpu:.1f} s CPU in its "
                f"own process; peak memory {rss_mb():.0f} MB (before sending {before:.0f} MB); "
                f"{load()}"
            )
            started = time.perf_counter()
            second = deliver(db.engine, campaign_id, "invite", config=app.config)
            print(
                f"second run: {second.sent} sent in {time.perf_counter() - started:.1f} s; "
                f"the server received {server.counts()[0]} in all"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
