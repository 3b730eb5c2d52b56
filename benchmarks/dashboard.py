"""Benchmark: the committee's pages on a national-size institution, SQLite and PostgreSQL.

Builds one institution with 200 programmes × 5 graduation years (default 56 responses to the
built-in attestation each, 18 numeric items: about 1.0 million ratings), a committee member
assigned to the whole institution, and an open campaign with one unanswered invitation. Then,
through the app in this process (the Flask test client: server time, no network):

1. the first view of the overview (computes and stores the records);
2. ``--repeat`` views of the overview and of a programme page with the records stored:
   median and p95 server time, and the SQL statements each page runs;
3. a new submission through the employer form's service (``responses.services.submit``),
   then the first view of the overview and of the programme page after it.

Usage::

    python benchmarks/dashboard.py                       # both backends, full size
    python benchmarks/dashboard.py --backend sqlite --programmes 20 --repeat 10
    HAMKOR_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/dashboard_bench \\
        python benchmarks/dashboard.py --backend postgresql

The PostgreSQL database is dropped and recreated (default ``dashboard_bench`` on
127.0.0.1:5432); the SQLite file lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert, select, text

from surveys import create_app
from surveys.extensions import db

PASSWORD = "benchmark password 1"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/dashboard_bench"


def build(app, programmes: int, years: int, per_group: int, seed: int = 1) -> dict:
    """Fill the empty database with bulk inserts; returns what the measurements need."""
    from surveys.auth.passwords import hash_password
    from surveys.instruments.definitions import numeric_items
    from surveys.instruments.services import latest_version, load_builtin_instruments
    from surveys.models import (
        Answer,
        Campaign,
        CommitteeAssignment,
        Employer,
        EmploymentRecord,
        Graduate,
        Institution,
        Invitation,
        Programme,
        Response,
        User,
        campaign_programmes,
    )

    rng = random.Random(seed)
    session = db.session
    load_builtin_instruments(session)
    version = latest_version(session, "attestation")
    items = numeric_items(version.definition)
    institution = Institution(code="BENCH", name="Benchmark University")
    session.add(institution)
    session.flush()
    conn = session.connection()
    conn.execute(
        insert(Programme),
        [
            {
                "institution_id": institution.id,
                "code": f"P{p:03d}",
                "name": f"Programme {p}",
                "level": "bachelor",
                "field_of_study": "Engineering",
            }
            for p in range(programmes)
        ],
    )
    programme_ids = list(
        session.scalars(select(Programme.id).where(Programme.institution_id == institution.id))
    )
    last_year = dt.date.today().year - 1
    cohorts = list(range(last_year - years + 1, last_year + 1))
    now = dt.datetime.now(dt.UTC)
    graduate_rows, employer_rows = [], []
    g = e = 0
    for pid in programme_ids:
        for year in cohorts:
            for i in range(per_group):
                g += 1
                graduate_rows.append(
                    {
                        "id": g,
                        "institution_id": institution.id,
                        "programme_id": pid,
                        "graduation_year": year,
                        "student_number": f"S{g:07d}",
                        "full_name": f"Graduate {g}",
                        "pseudonym": f"G-{g:016x}",
                    }
                )
                if i % 3 == 0:  # an employer rates three graduates
                    e += 1
                    employer_rows.append(
                        {
                            "id": e,
                            "name": f"Enterprise {e}",
                            "tax_number": f"{300000000 + e}",
                            "pseudonym": f"E-{e:016x}",
                            "contact_email": f"hr{e}@example.com",
                        }
                    )
    conn.execute(insert(Graduate), graduate_rows)
    conn.execute(insert(Employer), employer_rows)
    conn.execute(
        insert(EmploymentRecord),
        [
            {
                "graduate_id": row["id"],
                "employer_id": (row["id"] - 1) // 3 + 1,
                "position": "Engineer",
                "start_date": dt.date(row["graduation_year"], 9, 1),
            }
            for row in graduate_rows
        ],
    )
    campaign_ids = {}
    for year in cohorts:
        open_now = year == last_year
        campaign = Campaign(
            institution_id=institution.id,
            instrument_version_id=version.id,
            name=f"Attestation {year}",
            year=year,
            opens_on=dt.date.today() - dt.timedelta(days=30) if open_now else dt.date(year, 9, 1),
            closes_on=dt.date.today() + dt.timedelta(days=30) if open_now else dt.date(year, 12, 1),
            status="open" if open_now else "closed",
        )
        session.add(campaign)
        session.flush()
        campaign_ids[year] = campaign.id
        conn.execute(
            insert(campaign_programmes),
            [{"campaign_id": campaign.id, "programme_id": pid} for pid in programme_ids],
        )
    invitations, responses, answers = [], [], []
    quality = {pid: rng.gauss(3.8, 0.3) for pid in programme_ids}
    r = 0
    for row in graduate_rows:
        gid = row["id"]
        invitations.append(
            {
                "id": gid,
                "campaign_id": campaign_ids[row["graduation_year"]],
                "employer_id": (gid - 1) // 3 + 1,
                "graduate_id": gid,
                "nonce": secrets.token_hex(16),
                "token_hash": secrets.token_hex(32),
                "language": "en",
                "created_at": now,
                "reminder_count": 0,
            }
        )
        last = row["graduation_year"] == last_year and gid % per_group == 0
        if last:
            continue  # one unanswered invitation per programme of the open campaign
        r += 1
        responses.append(
            {
                "id": r,
                "invitation_id": gid,
                "instrument_version_id": version.id,
                "status": "submitted",
                "public_id": f"R-{r:016x}",
                "language": "en",
                "started_at": now,
                "updated_at": now,
                "submitted_at": now - dt.timedelta(days=rng.randint(0, 29)),
            }
        )
        mean = quality[row["programme_id"]] + rng.gauss(0, 0.4)
        for item in items:
            if item["type"] == "nps":
                value = min(10, max(0, round((mean - 1) * 2.5 + rng.gauss(0, 1.5))))
            elif rng.random() < 0.04:
                value = None
            else:
                value = min(item["scale_max"], max(item["scale_min"], round(rng.gauss(mean, 0.8))))
            answers.append(
                {
                    "response_id": r,
                    "item_key": item["key"],
                    "number": None if value is None else float(value),
                    "choice": None,
                    "choices": None,
                    "text": None,
                    "date": None,
                    "not_applicable": value is None,
                }
            )
    conn.execute(insert(Invitation), invitations)
    conn.execute(insert(Response), responses)
    for start in range(0, len(answers), 100_000):
        conn.execute(insert(Answer), answers[start : start + 100_000])
    if conn.dialect.name == "postgresql":
        for table in ("graduates", "employers", "invitations", "responses"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
                )
            )
    member = User(
        email="committee@bench.example", password_hash=hash_password(PASSWORD), role="committee"
    )
    session.add(member)
    session.flush()
    session.add(CommitteeAssignment(user_id=member.id, institution_id=institution.id))
    session.commit()
    if conn.dialect.name == "postgresql":
        with db.engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    unanswered = session.scalars(
        select(Invitation)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Response.id.is_(None), Invitation.campaign_id == campaign_ids[last_year])
        .limit(1)
    ).one()
    return {
        "ratings": len(answers),
        "responses": len(responses),
        "programme_id": programme_ids[0],
        "invitation_id": unanswered.id,
        "year": last_year,
    }


class QueryCounter:
    """Counts the SQL statements the engine runs."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *args) -> None:
        self.count += 1


def timed(client, url: str, counter: QueryCounter) -> tuple[float, int]:
    before = counter.count
    start = time.perf_counter()
    response = client.get(url)
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code}")
    return seconds, counter.count - before


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(url: str, programmes: int, years: int, per_group: int, repeat: int) -> None:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "benchmark",
            "WTF_CSRF_ENABLED": False,
            "BABEL_DEFAULT_LOCALE": "en",
            "RATELIMIT_ENABLED": False,
        }
    )
    from surveys.migrate import upgrade_database

    with app.app_context():
        upgrade_database(app)
        started = time.perf_counter()
        built = build(app, programmes, years, per_group)
        build_seconds = time.perf_counter() - started
        counter = QueryCounter(db.engine)
    backend = url.split(":", 1)[0].split("+", 1)[0]
    print(
        f"\n{backend}: {programmes} programmes × {years} years, {built['responses']:,} responses, "
        f"{built['ratings']:,} ratings (built in {build_seconds:.0f} s)"
    )
    client = app.test_client()
    client.post("/login", data={"email": "committee@bench.example", "password": PASSWORD})
    overview = f"/dashboard?year={built['year']}"
    programme = f"/dashboard/programmes/{built['programme_id']}?year={built['year']}"
    first, queries = timed(client, overview, counter)
    print(
        f"  first view of the overview (records computed and stored): {first:.2f} s, "
        f"{queries} SQL statements"
    )
    for name, page in (("overview", overview), ("programme page", programme)):
        times, counts = [], []
        for _ in range(repeat):
            seconds, n = timed(client, page, counter)
            times.append(seconds)
            counts.append(n)
        print(
            f"  {name}, records stored: median {statistics.median(times) * 1000:.0f} ms, "
            f"p95 {p95(times) * 1000:.0f} ms over {repeat} views, {max(counts)} SQL statements"
        )
    with app.app_context():
        from surveys.models import Invitation
        from surveys.responses.services import submit

        invitation = db.session.get(Invitation, built["invitation_id"])
        from surveys.instruments.definitions import numeric_items

        definition = invitation.campaign.instrument_version.definition
        values = {
            item["key"]: (8 if item["type"] == "nps" else 4) for item in numeric_items(definition)
        }
        result = submit(db.session, invitation, values, language="en")
        assert result.submitted, result.missing
        db.session.commit()
    for name, page in (("overview", overview), ("programme page", programme)):
        seconds, n = timed(client, page, counter)
        print(f"  {name}, first view after a new submission: {seconds:.2f} s, {n} SQL statements")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--programmes", type=int, default=200)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--responses", type=int, default=56, help="per programme and year")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    size = (args.programmes, args.years, args.responses, args.repeat)
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            measure(f"sqlite:///{folder}/bench.db", *size)
    if args.backend in ("postgresql", "both"):
        url = os.environ.get("HAMKOR_BENCH_PG", DEFAULT_PG)
        name = url.rsplit("/", 1)[1]
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        measure(url, *size)


if __name__ == "__main__":
    main()
