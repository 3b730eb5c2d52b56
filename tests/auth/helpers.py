"""Small helpers for the auth tests."""

from __future__ import annotations

from sqlalchemy import select

from surveys import create_app
from surveys.audit.models import AuditEvent
from tests.conftest import csrf_token_from


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kw):
    """Open the page with the form (for its CSRF token) and post ``data`` to ``url``."""
    token = csrf_token_from(client.get(form_url or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kw)


def events(db, action: str | None = None) -> list[AuditEvent]:
    """Audit events (of one action), oldest first, read fresh from the database."""
    db.expire_all()
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.scalars(stmt))


def apps_sharing_redis(monkeypatch, redis_url: str, database_url: str, config: dict, count=2):
    """``count`` apps standing for gunicorn workers (or hosts) with one ``HAMKOR_REDIS_URL``:
    their rate limits count together there."""
    monkeypatch.setenv("HAMKOR_REDIS_URL", redis_url)
    monkeypatch.delenv("HAMKOR_RATELIMIT_STORAGE_URI", raising=False)
    return [
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, **config})
        for _ in range(count)
    ]


def dispose(*apps) -> None:
    """Close the database connections of apps a test made itself (the ``app`` fixture
    does its own)."""
    from surveys.extensions import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
