"""Two test runs on one PostgreSQL server at once: each gets databases of its own.

A developer's run beside CI's on the same machine used to share ``test_gw0`` and
``test_gw1``: each emptied the other's tables after every test, and both failed at random.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import NO_POSTGRES, claim_database, postgres_server_url


@pytest.fixture
def server_url() -> str:
    url = postgres_server_url()
    if url is None:
        pytest.skip(NO_POSTGRES)
    return url


def test_a_second_run_claims_other_databases_and_a_finished_runs_are_used_again(server_url):
    worker = f"claim{os.getpid()}"  # unique, should two suites run this test at once
    stem = f"{make_url(server_url).database}_{worker}"
    claims = [claim_database(server_url, worker), claim_database(server_url, worker)]
    try:
        names = [make_url(url).database for url, _ in claims]
        assert names == [stem, f"{stem}_2"]
        for (url, _), name in zip(claims, names, strict=True):  # each was created and answers
            engine = create_engine(url)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT current_database()")).scalar() == name
            engine.dispose()

        claims[0][1].close()  # the first run ends: its database is free again
        claims[0] = claim_database(server_url, worker)
        assert make_url(claims[0][0]).database == stem
    finally:
        for _url, conn in claims:
            conn.close()
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in (stem, f"{stem}_2"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
