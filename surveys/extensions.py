"""Flask extensions, created unbound and bound to an app in :func:`surveys.create_app`."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable

from flask import Response, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name, get_remote_address
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
    """Flask-Limiter checking each request once, where its view's ``@limiter.limit`` (or
    :meth:`view_limit`) is.

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

    def view_limit(
        self,
        limit_value: Callable[[], str],
        *,
        scope: str,
        deduct_when: Callable[[Response], bool],
    ) -> Callable:
        """``@limiter.shared_limit(limit_value, scope, deduct_when=deduct_when)`` with a
        lean check: one counter for every view declared with the same ``scope``.

        The same limit, counted under the same storage key (prefix, client address,
        ``scope``) in the same storage, checked before the view, and deducted after it by
        Flask-Limiter when ``deduct_when(response)`` says so. A request within the limit is
        checked with one ``test`` of the limits strategy, on the limit parsed once per
        value of ``limit_value()``, instead of Flask-Limiter's per-request resolution of
        scopes, exemptions, defaults and meta limits, which parses the limit string again on
        every request (5.5 % of a complete employer form's instructions: 88.5 -> 83.7
        million, cachegrind; with the limiter switched off, 82.9); and its response gets no
        ``X-RateLimit-*`` headers, which cost two more storage reads (two Redis round trips)
        per request for browsers that never read them.

        Whatever is not that plain case goes through Flask-Limiter as before: a breach (the
        429, with its ``Retry-After`` and ``X-RateLimit-*`` headers, the same page or JSON),
        a storage gone and counted in memory meanwhile, request filters, request-wide
        limits, an empty key or endpoint.
        """
        route_limit = self.shared_limit(limit_value, scope, deduct_when=deduct_when)
        parsed: dict[str, tuple] = {}

        def decorate(view: Callable) -> Callable:
            route_limit(view)  # declared to Flask-Limiter, which checks the unusual cases
            name = get_qualified_name(view)

            @functools.wraps(view)
            def limited(*args, **kwargs):
                self._check_view_limit(route_limit, parsed, name)
                return view(*args, **kwargs)

            return limited

        return decorate

    def _check_view_limit(self, route_limit, parsed: dict[str, tuple], name: str) -> None:
        if not (self.enabled and self.initialized):
            return  # RATELIMIT_ENABLED=False: as Flask-Limiter, no limit at all
        provider = route_limit.limit_provider
        limit_value = provider() if callable(provider) else provider
        limits = parsed.get(limit_value)
        if limits is None:  # RuntimeLimits of this value, smallest window first
            limits = parsed[limit_value] = tuple(sorted(route_limit, key=lambda lim: lim.limit))
        endpoint = self._request_identifier()
        key = self._key_func()
        if (
            self._storage_dead
            or not endpoint
            or not key
            or self._request_filters
            or self._has_request_wide_limits()
        ):
            self._check_request_limit(callable_name=name, in_middleware=False)
            return
        prefix = [self._key_prefix] if self._key_prefix else []
        method = request.method
        keys = [(lim, [*prefix, key, lim.scope_for(endpoint, method)]) for lim in limits]
        try:
            within = all(self._limiter.test(lim.limit, *args) for lim, args in keys)
        except Exception:  # the storage is unreachable: as Flask-Limiter's own check does
            if self._in_memory_fallback_enabled:
                self.logger.warning(
                    "Rate limit storage unreachable - falling back to in-memory storage"
                )
                self._storage_dead = True  # counted in memory until the storage is back
                self._check_request_limit(callable_name=name, in_middleware=False)
            elif self._swallow_errors:
                self.logger.exception("Failed to rate limit. Swallowing error")
            else:
                raise
            return
        if not within:  # the 429, its headers and any callback: all Flask-Limiter's
            self._check_request_limit(callable_name=name, in_middleware=False)
            return
        deductions = self.context.conditional_deductions
        for lim, args in keys:  # counted after the view by Flask-Limiter, if deduct_when says
            deductions[lim] = args

    def _has_request_wide_limits(self) -> bool:
        manager = self.limit_manager
        return bool(
            manager._application_limits
            or manager._default_limits
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
