"""How long the yearly report of the demo institution takes, per format.

Builds the demo (``hamkor demo``) in a fresh SQLite database unless ``--database`` names one
that holds it, computes the institution's indicators once (the indicator service's work,
shared with the pages, timed apart), then builds each format through the same service as the
job and the command (:func:`surveys.reports.services.build_report`) and prints the time,
pages and size. The first PDF includes starting kaleido's Chromium (once per process); the
second shows a warm process, as a long-running worker has it (``--repeat`` builds it more
times: on a shared machine the time moves with the other jobs' load, printed beside it).
Beside the wall time, the CPU time of this process (all its threads; the PDF's charts are
drawn by Chromium, in processes of their own, whose CPU is not counted).

    python benchmarks/report.py
    python benchmarks/report.py --institution TDTU --year 2024 --lang ru
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: The goals of the report issue, in seconds.
GOALS = {"pdf": 10.0, "xlsx": 3.0, "sav": 3.0, "csv": 3.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL of a database holding the demo")
    parser.add_argument("--institution", default="QMII-NG", help="institution code")
    parser.add_argument("--year", type=int, help="graduation year (default: the newest)")
    parser.add_argument("--lang", default="uz", choices=("uz", "ru", "en"))
    parser.add_argument("--keep", help="folder to keep the files built in")
    parser.add_argument("--repeat", type=int, default=1, help="warm PDF builds (default 1)")
    args = parser.parse_args()

    folder = Path(args.keep or tempfile.mkdtemp(prefix="hamkor-report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database
    if url is None:
        url = f"sqlite:///{folder / 'demo.db'}"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "surveys", "demo", "--links", "0"],
            env={**os.environ, "HAMKOR_DATABASE_URL": url},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"demo built in {time.perf_counter() - started:.1f} s ({url})")

    from flask_babel import force_locale

    from surveys import create_app
    from surveys.dashboard.scope import EVERYTHING
    from surveys.extensions import db
    from surveys.indicators.services import get_indicators
    from surveys.registry.services import institution_by_code
    from surveys.reports.services import build_report, check_request

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark-" + "x" * 32})
    with app.app_context(), force_locale(args.lang):
        session = db.session
        institution = institution_by_code(session, args.institution)
        if institution is None:
            sys.exit(f"no institution {args.institution!r} in {url}")
        started = time.perf_counter()
        found = get_indicators(session, institution.id)
        session.commit()
        year = args.year or max(r.year for r in found.records)
        print(
            f"{institution.code}: {len(institution.programmes)} programmes, year {year}, "
            f"{len(found.records):,} indicator records (computed or read in "
            f"{time.perf_counter() - started:.1f} s)"
        )
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} cores\n")
        print(
            f"{'format':<10} {'seconds':>8} {'cpu s':>6} {'goal':>6} {'pages':>6} {'bytes':>11}"
            f" {'load':>5}"
        )
        for fmt, label in (
            ("pdf", "pdf"),
            *[("pdf", "pdf warm")] * max(args.repeat, 1),
            ("xlsx", "xlsx"),
            ("csv", "csv"),
            ("sav", "sav"),
        ):
            scope = check_request(
                session,
                EVERYTHING,
                year=year,
                fmt=fmt,
                lang=args.lang,
                institution_code=institution.code,
            )
            started, cpu = time.perf_counter(), time.process_time()
            built = build_report(session, scope)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            (folder / built.filename).write_bytes(built.data)
            pages = "" if built.pages is None else str(built.pages)
            print(
                f"{label:<10} {seconds:>8.2f} {cpu:>6.2f} {GOALS[fmt]:>6.0f} {pages:>6}"
                f" {len(built.data):>11,} {os.getloadavg()[0]:>5.1f}"
            )
    print(f"\nfiles in {folder}")


if __name__ == "__main__":
    main()
