"""The database pool hands out live connections without a ping on every request."""

from __future__ import annotations

from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from surveys import extensions
from surveys.extensions import db


def _pings(engine) -> list[str]:
    """The statements of ``engine``'s pings from now on (a ping is not a cursor execute of
    SQLAlchemy's, so the test listens on the dialect's ``do_ping``)."""
    seen: list[str] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        seen.append("ping")
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted
    return seen


def _kill(engine, dbapi_connection) -> None:
    """End ``dbapi_connection`` as a database restart would (from a connection outside the
    pool on PostgreSQL; SQLite has no server: its connection is closed under the pool)."""
    if engine.dialect.name == "postgresql":
        pid = dbapi_connection.info.backend_pid
        outside = create_engine(engine.url, poolclass=NullPool)
        with outside.begin() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        outside.dispose()
    else:
        dbapi_connection.close()


def test_connection_used_a_moment_ago_is_not_pinged(app):
    with app.app_context():
        engine = db.engine
        pings = _pings(engine)
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == []


def test_dead_idle_connection_is_replaced(app, monkeypatch):
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            dead = conn.connection.dbapi_connection
        _kill(engine, dead)
        pings = _pings(engine)
        # it lay idle long enough: the next checkout pings it, finds it dead, connects anew
        clock = extensions.time.monotonic() + extensions.PING_AFTER_IDLE_SECONDS + 1
        monkeypatch.setattr(extensions.time, "monotonic", lambda: clock)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            assert conn.connection.dbapi_connection is not dead
    assert pings == ["ping"]


def test_request_after_idle_pool_meets_dead_connection(app, client, monkeypatch):
    """A page served after the database dropped the worker's idle connection: no error."""
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            dead = conn.connection.dbapi_connection
        _kill(engine, dead)
    clock = extensions.time.monotonic() + extensions.PING_AFTER_IDLE_SECONDS + 1
    monkeypatch.setattr(extensions.time, "monotonic", lambda: clock)
    checked_out = []
    event.listen(engine, "checkout", lambda dbapi, record, proxy: checked_out.append(dbapi))
    response = client.get("/s/" + "A" * 43)  # a link lookup: one query on the pool
    assert response.status_code == 404
    assert "link" in response.get_data(as_text=True).lower()
    assert checked_out and dead not in checked_out
