"""Flask extensions, created unbound and bound to an app in :func:`surveys.create_app`."""

from __future__ import annotations

import sqlite3

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from surveys.orm import Base

#: The database; ``db.session`` is the request-scoped session committed once per request.
db = SQLAlchemy(model_class=Base)
#: CSRF protection for every POST form (Flask-WTF).
csrf = CSRFProtect()
#: Translations (uz, ru, en).
babel = Babel()
#: Rate limits (login, token guessing); storage from ``HAMKOR_RATELIMIT_STORAGE_URI``.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, connection_record) -> None:
    """SQLite (the embedded default) in write-ahead-log mode: pages and progress polls read
    while a background job writes, instead of waiting for its commit."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
