"""The guessing limit of personal links (``HAMKOR_TOKEN_RATE_LIMIT``), as a guesser meets it.

Links that open nothing (404, 410) count per client address; the limit is checked before
the view, so a client over it gets 429 even for a right token: a 429 for wrong guesses and a
200 for the right one would tell the guesser which guess was right. The check is
``surveys.extensions._ViewLimiter.view_limit``'s lean path, with Flask-Limiter's own for the
breach and an unreachable storage. Addresses are documentation ranges.
"""

from __future__ import annotations

import uuid

from surveys import create_app
from tests.auth.helpers import apps_sharing_redis, dispose
from tests.conftest import csrf_token_from

WRONG = "/s/" + "Q" * 43


def test_a_guesser_at_the_limit_is_refused_even_with_the_right_token(app, client, link):
    app.config["HAMKOR_TOKEN_RATE_LIMIT"] = "3 per minute"
    for _ in range(5):  # working links do not count (autosave posts often)
        page = client.get(link.url)
        assert page.status_code == 200
        # no X-RateLimit-* for browsers, which never read them (two storage reads saved)
        assert "X-RateLimit-Limit" not in page.headers
    csrf = csrf_token_from(page.get_data(as_text=True))
    for attempt in range(3):
        assert client.get(f"{WRONG[:-1]}{attempt}").status_code == 404
    refused = client.get(link.url)
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers  # Flask-Limiter's 429, headers and all
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert client.get(WRONG).status_code == 429

    # one count for all of a link's addresses: autosave is refused too, with the JSON
    # survey.js reads
    refused = client.post(
        f"{link.url}/autosave",
        data={"csrf_token": csrf, "section": "1"},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "Too Many Requests", "message": "3 per 1 minute"}


def test_guesses_on_the_form_autosave_and_decline_addresses_count_together(app, client, link):
    """30 a minute means 30 guesses in all, not 30 on each of a link's three addresses."""
    app.config["HAMKOR_TOKEN_RATE_LIMIT"] = "3 per minute"
    csrf = csrf_token_from(client.get(link.url).get_data(as_text=True))
    assert client.get(f"{WRONG[:-1]}0").status_code == 404
    guess = client.post(f"{WRONG[:-1]}1/autosave", data={"csrf_token": csrf, "section": "1"})
    assert guess.status_code == 404
    assert client.get(f"{WRONG[:-1]}2/decline").status_code == 404
    for address in (link.url, f"{link.url}/decline", f"{WRONG[:-1]}3/decline"):
        assert client.get(address).status_code == 429, address


def test_switched_off_with_ratelimit_enabled_false(database_url, db, link):
    from surveys.extensions import limiter

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-0123456789abcdef",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HAMKOR_TOKEN_RATE_LIMIT": "1 per minute",
            "RATELIMIT_ENABLED": False,
        }
    )
    try:
        client = app.test_client()
        assert [client.get(WRONG).status_code for _ in range(3)] == [404] * 3
        assert client.get(link.url).status_code == 200
    finally:
        dispose(app)
        limiter.enabled = True  # one Limiter for the process: as the next app will set it


def test_guesses_through_any_worker_count_together_in_redis(
    monkeypatch, database_url, redis_url, db, link
):
    """Two apps stand for two gunicorn workers sharing ``HAMKOR_REDIS_URL``."""
    addr = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])  # keys of this test's own
    workers = apps_sharing_redis(
        monkeypatch,
        redis_url,
        database_url,
        {
            "SECRET_KEY": "test-secret-key-0123456789abcdef",
            "HAMKOR_TOKEN_RATE_LIMIT": "4 per minute",
        },
    )
    try:
        clients = [w.test_client() for w in workers]
        env = {"REMOTE_ADDR": addr}
        assert clients[0].get(link.url, environ_base=env).status_code == 200
        statuses = [
            clients[n % 2].get(f"{WRONG[:-1]}{n}", environ_base=env).status_code for n in range(5)
        ]
        assert statuses == [404] * 4 + [429]
        assert [c.get(link.url, environ_base=env).status_code for c in clients] == [429, 429]
        # another address is not slowed down
        assert (
            clients[1].get(link.url, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
        )
    finally:
        dispose(*workers)
        from redis import Redis

        client = Redis.from_url(redis_url)
        for key in client.scan_iter(f"*{addr}/*"):
            client.delete(key)
        client.close()


def test_an_unreachable_storage_is_counted_in_memory_meanwhile(
    monkeypatch, database_url, db, link, caplog
):
    """``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``: Redis gone, the limit still holds (in the
    worker's memory) rather than every link failing or going unlimited."""
    from surveys.extensions import limiter

    monkeypatch.setattr(limiter, "_storage_dead", False)  # restored for the next tests
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-0123456789abcdef",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HAMKOR_TOKEN_RATE_LIMIT": "2 per minute",
            # nothing listens on port 1: every connection is refused at once
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
            "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1},
        }
    )
    try:
        client = app.test_client()
        assert client.get(WRONG).status_code == 404
        assert limiter._storage_dead
        assert "falling back to in-memory storage" in caplog.text
        assert client.get(WRONG[:-1] + "R").status_code == 404
        assert client.get(link.url).status_code == 429
    finally:
        dispose(app)
