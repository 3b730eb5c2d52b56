"""In-process profile of the employer form: what one complete submission costs the server.

Runs the app in this process (Flask's test client, no HTTP server) on a fresh copy of
``submit_load.py``'s template database and fills in whole forms as its employers do: GET the
link, post every section with "next" (following each 303), post the last with "submit", GET
the thank-you page. Printed: the SQL statements of each kind of request (counted with a
``before_cursor_execute`` listener), and the process CPU time per submission (the client's
share included: the test client and the HTML parsing of ``fill_in`` run here too).
``--profile`` adds the cProfile functions that cost the most cumulative time.

    python benchmarks/submit_profile.py                 # 100 forms after 10 warm-up ones
    python benchmarks/submit_profile.py --forms 200 --profile 40
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import submit_load  # noqa: E402

from tests.employer_browser import fill_in  # noqa: E402

PROFILE_DB = "perf_submit_profile"


def _count_statements(engine, counts: list[int], texts: list[str]) -> None:
    """Count the statements of this thread's requests (not the job thread's polls)."""
    import threading

    from sqlalchemy import event

    requests = threading.get_ident()

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() != requests:
            return
        counts[0] += 1
        texts.append(statement.split("\n", 1)[0][:90])


def _fill(client, token: str, rng: random.Random, log: list[tuple[str, int, list[str]]], state):
    """One whole form through the test client; ``log`` gets (kind, statements) per request."""

    def request(method: str, path: str, kind: str, data=None):
        state["counts"][0] = 0
        state["texts"].clear()
        body = None if data is None else urllib.parse.urlencode(data)
        response = client.open(
            path,
            method=method,
            data=body,
            content_type=None if data is None else "application/x-www-form-urlencoded",
            headers={"Accept-Language": "en"},
        )
        log.append((kind, state["counts"][0], list(state["texts"])))
        while response.status_code in (301, 302, 303):
            location = urllib.parse.urlsplit(response.headers["Location"])
            path = location.path + ("?" + location.query if location.query else "")
            state["counts"][0] = 0
            state["texts"].clear()
            response = client.get(path, headers={"Accept-Language": "en"})
            log.append(("get after " + kind, state["counts"][0], list(state["texts"])))
        return response

    page = request("GET", f"/s/{token}", "get").get_data(as_text=True)
    while 'name="action" value="next"' in page:
        fields = fill_in(page, rng)
        page = request("POST", f"/s/{token}", "post_next", [*fields, ("action", "next")])
        page = page.get_data(as_text=True)
    fields = fill_in(page, rng)
    page = request("POST", f"/s/{token}", "submit", [*fields, ("action", "submit")])
    return 'class="card summary"' in page.get_data(as_text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms", type=int, default=100, help="measured forms")
    parser.add_argument("--warm", type=int, default=10, help="forms before measuring")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--sql", action="store_true", help="print the statements of each kind")
    parser.add_argument(
        "--no-freeze", action="store_true", help="no gc.freeze() after the app is made"
    )
    parser.add_argument("--dump", help="write the cProfile statistics to this file (pstats)")
    parser.add_argument(
        "--database",
        default=PROFILE_DB,
        help="the fresh copy of the template to fill (two runs at once need two names)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "HAMKOR_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    submit_load.build_template(args.postgres, False)
    admin = submit_load._admin(args.postgres)
    submit_load._recreate(admin, args.database, template=submit_load.TEMPLATE_DB)
    admin.dispose()
    url = submit_load._with_database(args.postgres, args.database)
    tokens = submit_load.open_tokens(url)
    os.environ.update(submit_load._server_env(url))
    # the job thread polls the database every 2 s: under valgrind (50x slower) its polls
    # would add to every form's instructions as much as the run is slow; here it polls once
    os.environ["HAMKOR_JOB_POLL_SECONDS"] = "3600"

    from surveys import create_app
    from surveys.extensions import db

    app = create_app()
    if not args.no_freeze:  # as a gunicorn worker does once it has loaded the app
        from surveys import gunicorn_config

        gunicorn_config.post_worker_init(None)
    server_cpu = [0.0]
    inner = app.wsgi_app

    def timed(environ, start_response):  # the app's own CPU, the test client's excluded
        began = time.process_time()
        try:
            return inner(environ, start_response)
        finally:
            server_cpu[0] += time.process_time() - began

    app.wsgi_app = timed
    state = {"counts": [0], "texts": []}
    with app.app_context():
        _count_statements(db.engine, state["counts"], state["texts"])
    client = app.test_client()
    for i in range(args.warm):
        assert _fill(client, tokens[i], random.Random(i), [], state), "warm-up form not thanked"
        client = app.test_client()  # a new employer: a new browser (no cookie)
    log: list[tuple[str, int, list[str]]] = []
    profiler = cProfile.Profile(time.process_time) if args.profile or args.dump else None
    server_cpu[0] = 0.0
    started_cpu, started = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for i in range(args.warm, args.warm + args.forms):
        client = app.test_client()
        assert _fill(client, tokens[i], random.Random(i), log, state), "form not thanked"
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    load = os.getloadavg()
    print(f"{args.forms} forms, {len(log) / args.forms:.0f} requests each; load {load[0]:.2f}")
    print(
        f"  CPU per submission: {1000 * server_cpu[0] / args.forms:.1f} ms in the app, "
        f"{1000 * cpu / args.forms:.1f} ms with the test client; "
        f"wall {1000 * wall / args.forms:.1f} ms"
    )
    statements: dict[str, list[int]] = defaultdict(list)
    for kind, count, _ in log:
        statements[kind].append(count)
    total = sum(count for _, count, _ in log) / args.forms
    print(f"  SQL statements per submission: {total:.1f}")
    for kind, counts in statements.items():
        print(f"    {kind:<22} {sum(counts) / len(counts):5.1f} per request")
    if args.sql:
        seen: dict[str, Counter] = defaultdict(Counter)
        for kind, _, texts in log:
            if not seen[kind]:
                seen[kind].update(texts)
        for kind, texts in seen.items():
            print(f"  {kind}:")
            for text, n in texts.items():
                print(f"    {n} × {text}")
    if profiler and args.dump:
        profiler.dump_stats(args.dump)
    if profiler and args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())


if __name__ == "__main__":
    main()
