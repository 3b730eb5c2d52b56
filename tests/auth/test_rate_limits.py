"""Rate limits: per client, per (account, client) pair, shared through Redis, behind proxies.

Issue 13 §3: with ``--workers 4`` and per-process memory, 40 of 60 logins got through a
limit of "10 per minute"; with a per-account lock, 20 wrong passwords from anywhere locked
the real owner out for an hour. Addresses below are documentation ranges, only ever put in
``REMOTE_ADDR`` or ``X-Forwarded-For`` of test requests.
"""

from __future__ import annotations

import uuid

import pytest

from surveys import create_app
from surveys.cli import per_worker_limits_warning
from tests.auth.helpers import apps_sharing_redis, dispose, events
from tests.conftest import TEST_PASSWORD, csrf_token_from


def attempt(client, email: str, password: str, *, addr: str = "127.0.0.1", forwarded=None):
    """One login attempt from ``addr`` (or through a proxy that says ``forwarded``)."""
    token = csrf_token_from(
        client.get("/login", environ_base={"REMOTE_ADDR": addr}).get_data(as_text=True)
    )
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": addr},
        headers=headers,
    )


@pytest.fixture
def limited_app(request, database_url, redis_url_or_none):
    """The app with memory or Redis storage (``HAMKOR_REDIS_URL``), keys of its own."""
    prefix = f"hamkor-test-{uuid.uuid4().hex[:8]}"
    overrides = {
        "TESTING": True,
        "SECRET_KEY": "rate-limit-tests-0123456789abcdef",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BABEL_DEFAULT_LOCALE": "en",
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    if redis_url_or_none is not None:
        overrides["RATELIMIT_STORAGE_URI"] = redis_url_or_none
    app = create_app(overrides)
    yield app
    dispose(app)
    if redis_url_or_none is not None:
        from redis import Redis

        client = Redis.from_url(redis_url_or_none)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture(params=["memory", "redis"])
def redis_url_or_none(request):
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url")


def test_wrong_passwords_from_everywhere_never_lock_the_owner_out(limited_app, db, make_user):
    make_user("staff", email="owner@uni.example")
    db.commit()
    client = limited_app.test_client()
    for n in range(20):  # a botnet: each address tries once
        page = attempt(client, "owner@uni.example", f"guess {n}", addr=f"192.0.2.{n + 1}")
        assert page.status_code == 200 and "Wrong e-mail or password" in page.get_data(True)
    owner = attempt(client, "owner@uni.example", TEST_PASSWORD, addr="198.51.100.7")
    assert owner.status_code == 302  # logged in at once, from the owner's own address


def test_one_client_guessing_one_account_is_slowed_down(limited_app, db, make_user):
    assert limited_app.config["HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT"] == "5 per minute"
    make_user("staff", email="target@uni.example")
    make_user("staff", email="neighbour@uni.example")
    db.commit()
    client = limited_app.test_client()
    for n in range(5):
        assert (
            attempt(client, "target@uni.example", f"guess {n}", addr="192.0.2.9").status_code == 200
        )
    # the sixth try of that pair waits, even with the right password …
    slowed = attempt(client, "target@uni.example", TEST_PASSWORD, addr="192.0.2.9")
    assert slowed.status_code == 429
    assert "Too many attempts" in slowed.get_data(as_text=True)
    # … while the same address may still log in to another account, and the owner from theirs
    assert (
        attempt(client, "neighbour@uni.example", TEST_PASSWORD, addr="192.0.2.9").status_code == 302
    )
    assert (
        attempt(client, "target@uni.example", TEST_PASSWORD, addr="198.51.100.8").status_code == 302
    )


def test_the_account_limit_is_read_from_the_environment(monkeypatch, database_url, db, make_user):
    monkeypatch.setenv("HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT", "2 per minute")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "env-limit-0123456789abcdef",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    assert app.config["HAMKOR_LOGIN_ACCOUNT_RATE_LIMIT"] == "2 per minute"
    make_user("staff", email="env@uni.example")
    db.commit()
    client = app.test_client()
    statuses = [attempt(client, "env@uni.example", "wrong").status_code for _ in range(3)]
    dispose(app)
    assert statuses == [200, 200, 429]


def test_workers_share_limits_through_redis(monkeypatch, database_url, redis_url, db, make_user):
    """Two apps stand for two gunicorn workers (or hosts): one ``HAMKOR_REDIS_URL`` makes
    them count together, so "10 per minute" means 10, not 10 per worker."""
    prefix = f"hamkor-test-{uuid.uuid4().hex[:8]}"
    # the process's one Limiter keeps the key prefix of the first app it served, so this
    # test's keys are its own by client address and accounts (the SQLite and PostgreSQL runs
    # of it share a Redis, often at the same moment on two xdist workers)
    tag = uuid.uuid4().hex[:8]
    addr = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])
    workers = apps_sharing_redis(
        monkeypatch,
        redis_url,
        database_url,
        {
            "SECRET_KEY": "shared-limits-0123456789abcdef",
            "BABEL_DEFAULT_LOCALE": "en",
            "RATELIMIT_KEY_PREFIX": prefix,
        },
    )
    assert workers[0].config["RATELIMIT_STORAGE_URI"] == redis_url
    make_user("staff", email="shared@uni.example")
    db.commit()
    try:
        clients = [w.test_client() for w in workers]
        statuses = [
            attempt(clients[n % 2], f"user{n}-{tag}@uni.example", "wrong", addr=addr).status_code
            for n in range(12)
        ]
        assert statuses == [200] * 10 + [429, 429]
        assert per_worker_limits_warning(workers[0].config, 4) is None
    finally:
        dispose(*workers)
        from redis import Redis

        client = Redis.from_url(redis_url)
        for pattern in (f"*{prefix}*", f"*{addr}/*", f"*{tag}*"):
            for key in client.scan_iter(pattern):
                client.delete(key)
        client.close()


def test_behind_a_trusted_proxy_limits_key_on_the_real_client(database_url, db, make_user):
    make_user("staff", email="proxied@uni.example")
    db.commit()

    def app_with(proxies: int):
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "proxy-tests-0123456789abcdef",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "RATELIMIT_STORAGE_URI": "memory://",
                "BABEL_DEFAULT_LOCALE": "en",
                "HAMKOR_TRUSTED_PROXIES": proxies,
            }
        )

    # behind nginx every request comes from 127.0.0.1; the client is in X-Forwarded-For
    proxied = app_with(1)
    client = proxied.test_client()
    for n in range(10):
        assert attempt(client, f"a{n}@uni.example", "x", forwarded="203.0.113.1").status_code == 200
    assert attempt(client, "b@uni.example", "x", forwarded="203.0.113.1").status_code == 429
    assert attempt(client, "b@uni.example", "x", forwarded="203.0.113.2").status_code == 200
    assert (
        attempt(client, "proxied@uni.example", TEST_PASSWORD, forwarded="203.0.113.3").status_code
        == 302
    )
    assert events(db, "auth.login")[-1].ip == "203.0.113.3"  # the audit trail sees the client
    # without trusted proxies the header is anybody's to forge: it changes nothing
    direct = app_with(0)
    client = direct.test_client()
    statuses = [
        attempt(client, f"c{n}@uni.example", "x", forwarded=f"203.0.113.{n + 10}").status_code
        for n in range(11)
    ]
    dispose(proxied, direct)
    assert statuses == [200] * 10 + [429]


def test_serve_warns_when_limits_are_per_worker(runner, monkeypatch, database_url):
    from gunicorn.app.base import BaseApplication

    monkeypatch.setenv("HAMKOR_DATABASE_URL", database_url)
    monkeypatch.setattr(BaseApplication, "run", lambda self: None)
    monkeypatch.delenv("HAMKOR_REDIS_URL", raising=False)
    monkeypatch.delenv("HAMKOR_RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("HAMKOR_SECRET_KEY", "serve-warning-0123456789")
    result = runner.invoke(["serve", "--workers", "4", "--port", "52150"])
    assert result.exit_code == 0, result.output
    assert "WARNING: rate limits are counted in each worker's own memory" in result.stderr
    assert "effect 4 times higher" in result.stderr and "HAMKOR_REDIS_URL" in result.stderr
    result = runner.invoke(["serve", "--workers", "1", "--port", "52150"])
    assert "WARNING" not in result.stderr
    assert per_worker_limits_warning({"RATELIMIT_STORAGE_URI": "redis://x:6379/0"}, 4) is None


def test_a_limit_on_every_page_is_still_counted(limited_app, monkeypatch):
    """The app's limits are on views, and a request is checked once, by its view's decorator
    (``surveys.extensions._ViewLimiter``); a default limit for every page, if one is set,
    is still checked before each request, also on pages without a limit of their own."""
    from flask_limiter import Limit
    from flask_limiter.util import get_remote_address

    from surveys.extensions import limiter

    every_page = Limit(limit_provider="2 per minute", key_function=get_remote_address)
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [every_page.bind(limiter)])
    client = limited_app.test_client()
    # an address of its own (the documentation range): Redis keeps counts for a minute
    addr = {"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}"}
    statuses = [client.get("/", environ_base=addr).status_code for _ in range(3)]  # no limit
    assert 429 not in statuses[:2]
    assert statuses[2] == 429
