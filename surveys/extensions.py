"""Flask extensions, created unbound and bound to an app in :func:`surveys.create_app`."""

from __future__ import annotations

import sqlite3
import time

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from surveys.orm import Base

#: The database; ``db.session`` is the request-scoped session committed once per request.
db = SQLAlchemy(model_class=Base)
#: CSRF protection for every POST form (Flask-WTF).
csrf = CSRFProtect()
#: Translations (uz, ru, en).
babel = Babel()


class _ViewLimiter(Limiter):
    """Flask-Limiter checking each request once, where its view's ``@limiter.limit`` is.

    Flask-Limiter checks every request twice: in a ``before_request`` hook for the limits
    that apply to whole groups of requests (default, application, blueprint and meta
    limits; the view's own are left to its decorator), and in the view's decorator. Hamkor
    declares its limits on views only, so the first pass finds nothing to count, at some 2 %
    of an employer form request's CPU. It is skipped while no such limit is declared (one
    set by ``RATELIMIT_DEFAULT`` and the like is checked as before).
    """

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if in_middleware and not self._has_request_wide_limits():
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _has_request_wide_limits(self) -> bool:
        manager = self.limit_manager
        return bool(
            manager.application_limits
            or manager.default_limits
            or manager._blueprint_limits
            or self._meta_limits
            or self._in_memory_fallback
        )


#: Rate limits (login, token guessing); storage from ``HAMKOR_RATELIMIT_STORAGE_URI``.
limiter = _ViewLimiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, connection_record) -> None:
    """SQLite (the embedded default) in write-ahead-log mode: pages and progress polls read
    while a background job writes, instead of waiting for its commit."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


#: A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0


def ping_idle_connections(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Check that a pooled connection is alive before use, if it lay idle ``idle_seconds``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip and ~2 % of
    a request's CPU, although a connection a worker used a moment ago is alive. What kills
    connections (a database restart or failover, an idle timeout of a firewall or
    ``idle_session_timeout``) mostly meets connections that lay idle, and those are
    pinged here. A dead one is replaced, with every connection pooled before it, as
    ``pool_pre_ping`` would. A restart within ``idle_seconds`` of a connection's last use
    costs that one request an error, and the pool is renewed with it (SQLAlchemy
    invalidates the pool when a statement meets a closed connection).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["hamkor_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        since = record.info.get("hamkor_idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new (just connected), or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError(f"connection lost while idle: {error}") from error
            raise
