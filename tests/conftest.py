"""Fixtures shared by the whole suite.

Every database test runs twice: on SQLite (a file per session) and on PostgreSQL
(``HAMKOR_TEST_DATABASE_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
The schema is built once per backend by the real Alembic migrations, and every table is
emptied after each test, so each test starts from an empty database.

The suite runs in parallel (pytest-xdist, ``-n`` in ``pyproject.toml``): each worker has its
own SQLite file and its own PostgreSQL database, ``<database>_<worker>`` (``test_gw0``, …),
created next to the given one on first use. ``-n 0`` runs everything in one process. A second
run on the same server at the same time (a developer's beside CI's) gets databases of its own
(``test_gw0_2``, …): see :func:`claim_database`.
"""

from __future__ import annotations

import copy
import itertools
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from surveys import create_app
from surveys.extensions import db as _db
from surveys.jobs.backends import start_job_thread
from surveys.orm import Base
from tests import factories

# The suite starts about a hundred Python processes (the xdist workers, `hamkor` commands,
# gunicorn and its workers, RQ workers). Where PYTHONDONTWRITEBYTECODE is set (as on the CI
# machines) none of them kept its compiled code, so each compiled the app's 120 modules from
# source again, 0.3-0.4 s of CPU per `hamkor` command. The suite lets them keep it
# (``__pycache__`` is ignored by git); set before the workers and subprocesses start.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
TEST_PASSWORD = "correct horse battery"
NO_POSTGRES = "PostgreSQL does not answer on 127.0.0.1:5432 (set HAMKOR_TEST_DATABASE_URL)"


def postgres_server_url() -> str | None:
    """The PostgreSQL server to test on (``HAMKOR_TEST_DATABASE_URL``, else the default), or
    None when none answers and none was asked for."""
    url = os.environ.get("HAMKOR_TEST_DATABASE_URL")
    try:
        engine = create_engine(url or DEFAULT_PG_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        if url:  # asked for explicitly: not reachable is an error, not a skip
            raise RuntimeError(f"HAMKOR_TEST_DATABASE_URL={url} does not answer: {exc}") from exc
        return None
    return url or DEFAULT_PG_URL


def _postgres_url() -> str | None:
    """This process's PostgreSQL database (:func:`claim_database`), or None without a server."""
    if not _CLAIMED:
        server = postgres_server_url()
        if server is None:
            return None
        _CLAIMED.append(claim_database(server, os.environ.get("PYTEST_XDIST_WORKER")))
    return _CLAIMED[0][0]


#: This process's claimed PostgreSQL database: its URL and the connection holding the claim.
_CLAIMED: list[tuple[str, Connection]] = []
#: The advisory lock class of test database claims (the object is the database's name).
_CLAIM_LOCK = "SELECT pg_try_advisory_lock(hashtext('hamkor test database'), hashtext(:name))"


def claim_database(url: str, worker: str | None) -> tuple[str, Connection]:
    """A PostgreSQL database next to ``url``'s for this process alone, created if need be.

    Its name is ``<name>_<worker>`` under xdist and ``url``'s own name in one process; if
    another process holds that one, ``…_2``, ``…_3``, and so on. The claim is a session-level
    advisory lock on the name, held by the returned connection (to ``url``'s database) until
    it is closed or the process ends. Without it, a second test run on the same server
    emptied the first run's tables in the middle of its tests.
    """
    base = make_url(url)
    stem = f"{base.database}_{worker}" if worker else base.database
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    conn = admin.connect()
    name = next(
        candidate
        for candidate in (stem if n == 1 else f"{stem}_{n}" for n in itertools.count(1))
        if conn.execute(text(_CLAIM_LOCK), {"name": candidate}).scalar()
    )
    exists = conn.execute(
        text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
    ).scalar()
    if not exists:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(hide_password=False), conn


_SCHEMA_READY: set[str] = set()
#: One engine per test database for emptying it after each test (a pooled connection, not
#: a new one per test).
_ENGINES: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    if url not in _ENGINES:
        _ENGINES[url] = create_engine(url)
    return _ENGINES[url]


@pytest.fixture(scope="session", autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    for engine in _ENGINES.values():
        engine.dispose()
    for _url, claim in _CLAIMED:
        claim.close()


def _reset_schema(url: str) -> None:
    """Drop everything and migrate an empty database to head with the real migrations."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "schema", "TESTING": True})
    from surveys.migrate import upgrade_database

    with app.app_context():
        upgrade_database(app)
        _db.engine.dispose()


def _empty_tables(url: str) -> None:
    """Delete every row and restart every id sequence, as if the tables were new.

    On PostgreSQL only the tables that hold rows are emptied, with ``DELETE`` (a
    ``TRUNCATE`` of every table makes new files for each and costs about a second per
    test), and only the sequences that were used are restarted.
    """
    engine = _engine(url)
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            probe = " UNION ALL ".join(f"(SELECT '{t.name}' FROM {t.name} LIMIT 1)" for t in tables)
            used = set(conn.execute(text(probe)).scalars())
            for table in tables:
                if table.name in used:
                    conn.execute(table.delete())
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
                    "FROM pg_sequences "
                    "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                )
            )
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    """The database URL of one backend, schema migrated to head once per session."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "hamkor-test.db")
    else:
        url = _postgres_url()
        if url is None:
            pytest.skip(NO_POSTGRES)
    if url not in _SCHEMA_READY:
        _reset_schema(url)
        _SCHEMA_READY.add(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis for the RQ and shared-rate-limit tests (``HAMKOR_TEST_REDIS_URL``, default
    database 1 on 127.0.0.1:6379). Tests use keys and queues of their own and delete them."""
    from redis import Redis
    from redis.exceptions import RedisError

    url = os.environ.get("HAMKOR_TEST_REDIS_URL")
    client = Redis.from_url(url or DEFAULT_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except RedisError as exc:
        if url:  # asked for explicitly: not reachable is an error, not a skip
            raise RuntimeError(f"HAMKOR_TEST_REDIS_URL={url} does not answer: {exc}") from exc
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (set HAMKOR_TEST_REDIS_URL)")
    finally:
        client.close()
    return url or DEFAULT_REDIS_URL


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2 with the least work it allows, for the suite only.

    At production cost (64 MiB, 3 passes) each of the suite's thousands of hashes and
    verifications takes 50-100 ms of CPU, minutes in all; what the tests check (which
    password matches, that sessions end when it changes, …) does not depend on the cost.
    ``tests/auth/test_passwords.py`` checks, in a process of its own, that production
    parameters are what ships.
    """
    from argon2 import PasswordHasher

    from surveys.auth import passwords

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        )
        yield


class _SharedTemplateCode(BytecodeCache):
    """Compiled templates kept in memory for every app the suite creates.

    Each test makes a new app, and each new app's Jinja environment would otherwise parse
    and compile every template it renders again (20-40 ms a template, about 5% of the
    suite's CPU time). The cache is keyed by template file and checked against the source's
    checksum, and every app comes from the same ``create_app``, so the compiled code is the
    one each app would have made itself.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(scope="session", autouse=True)
def _shared_template_code() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            Flask, "jinja_options", {**Flask.jinja_options, "bytecode_cache": _SharedTemplateCode()}
        )
        yield


#: Markers that run a test on one database only, and the ``database_url`` param each keeps.
ONE_DATABASE = {"sqlite_only": "sqlite", "postgres_only": "postgresql"}


@pytest.fixture(autouse=True)
def _one_database(request) -> None:
    """Skip the other database's run of a test marked ``sqlite_only`` or ``postgres_only``
    before its other fixtures are set up. The marker's reason names the tests that check
    the same database steps on the other database."""
    callspec = getattr(request.node, "callspec", None)
    database = callspec.params.get("database_url") if callspec else None
    for name, kept in ONE_DATABASE.items():
        marker = request.node.get_closest_marker(name)
        if marker and database not in (None, kept):
            where = "SQLite" if kept == "sqlite" else "PostgreSQL"
            pytest.skip(f"run once, on {where}; {marker.args[0]}")


@pytest.fixture(autouse=True)
def _no_job_thread_outlives_its_test() -> Iterator[None]:
    """Stop the job threads a test's apps started (on their first request), whichever way
    the app was made: a thread left polling the worker's database claimed a later test's
    job once (tests/test_deploy.py saw its import run by ``thread:…``, not the RQ worker)."""
    yield
    from surveys.jobs.backends import stop_runners

    stop_runners()


@pytest.fixture(scope="session", autouse=True)
def _parse_each_definition_once() -> Iterator[None]:
    """Each instrument definition's YAML text parsed once per worker, each caller given a
    copy of its own.

    Hundreds of tests load the built-in instruments, and parsing their three files took
    about 20 ms each time; parsing is a function of the text alone (errors are raised as
    before and not kept).
    """
    from surveys.instruments import services

    parse = services._parse_yaml
    parsed: dict[str, Any] = {}

    def parse_once(raw: str) -> Any:
        if raw not in parsed:
            parsed[raw] = parse(raw)
        return copy.deepcopy(parsed[raw])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_parse_yaml", parse_once)
        yield


@pytest.fixture
def app(database_url: str, tmp_path) -> Iterator[Flask]:
    """A fresh app on an empty database (tables emptied after the test).

    No application context stays pushed during the test: each request made through
    ``client`` gets its own, as in production (a shared one would leak ``g`` between
    requests). Push ``app.app_context()`` explicitly to call services directly.
    """
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-0123456789abcdef",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HAMKOR_BASE_URL": "http://hamkor.test",
            "RATELIMIT_STORAGE_URI": "memory://",
            # Tests read English unless they ask for a language (?lang= or Accept-Language);
            # production's default stays Uzbek.
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    app.instance_path = str(tmp_path / "instance")
    # A served app starts its job thread on its first request; a test's app only when a
    # job is handed to it (which starts the thread too). One thread per test cost about
    # 14 ms of CPU per test, its first look for jobs on the test's new engine: 600 tests
    # of one request each took 25.9-26.9 CPU s with it, 17.6-18.4 s without. The start on
    # a first request is checked in tests/jobs/test_layer.py, and in gunicorn in
    # tests/jobs/test_processes.py.
    hooks = app.before_request_funcs.get(None, [])
    if start_job_thread in hooks:  # (an app on the RQ backend has no job thread)
        hooks.remove(start_job_thread)
    yield app
    from surveys.jobs.backends import stop_runners

    stop_runners()  # no job thread of this test may outlive it (or claim the next test's jobs)
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()
    _empty_tables(database_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client with CSRF protection left on, as in production."""
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session of the test's own on the app's database.

    Tests build data through it and ``commit()`` to make it visible to requests; after a
    request, reading an attribute of a committed object reloads it from the database.
    """
    with app.app_context():
        engine = _db.engine
    session = Session(bind=engine)
    yield session
    session.close()


@pytest.fixture
def runner(app: Flask):
    """Invoke ``hamkor`` commands inside this app (its test database)."""
    from click.testing import CliRunner

    from surveys.cli import main

    class _Runner(CliRunner):
        def invoke(self, args=None, **kwargs):  # type: ignore[override]
            with app.app_context():
                return super().invoke(kwargs.pop("cli", main), args, **kwargs)

    return _Runner()


@pytest.fixture
def make_institution(db):
    return lambda **kw: factories.make_institution(db, **kw)


@pytest.fixture
def make_programme(db):
    return lambda institution=None, **kw: factories.make_programme(db, institution, **kw)


@pytest.fixture
def make_graduate(db):
    return lambda programme=None, **kw: factories.make_graduate(db, programme, **kw)


@pytest.fixture
def make_employer(db):
    return lambda institution=None, **kw: factories.make_employer(db, institution, **kw)


@pytest.fixture
def make_user(db):
    return lambda role="staff", institution=None, **kw: factories.make_user(
        db, role, institution, password=TEST_PASSWORD, **kw
    )


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form in ``html`` (tests post forms as a browser would)."""
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if match is None:
        raise AssertionError("no csrf_token field in the page")
    return match.group(1)


@pytest.fixture
def login(client):
    """Log ``client`` in through the real login form; returns the response."""

    def _login(user_or_email, password: str = TEST_PASSWORD, follow_redirects: bool = True):
        email = getattr(user_or_email, "email", user_or_email)
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        return client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            follow_redirects=follow_redirects,
        )

    return _login
