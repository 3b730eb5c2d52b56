"""Recording and reading audit events; callers pass their session, nothing here commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from surveys.audit.models import AuditEvent
from surveys.orm import utcnow
from surveys.search import apply_search

#: Keys whose values never enter the trail, whoever passes them (compared case-insensitively,
#: as substrings: ``new_password``, ``token_hash``, ``api_secret`` … are all caught).
SECRET_KEY_PARTS = ("password", "token", "secret", "nonce", "hash", "csrf")
#: What a secret value is replaced with.
REDACTED = "[redacted]"


def redact(details: Any) -> Any:
    """``details`` with the value of every secret-looking key replaced by ``[redacted]``.

    The words ``generated``/``set`` that services store under ``password`` to say *how* a
    password was chosen are kept: they tell the reader something and reveal nothing.
    """
    if isinstance(details, dict):
        clean = {}
        for key, value in details.items():
            if any(part in str(key).lower() for part in SECRET_KEY_PARTS):
                clean[key] = value if value in ("generated", "set") else REDACTED
            else:
                clean[key] = redact(value)
        return clean
    if isinstance(details, list | tuple):
        return [redact(v) for v in details]
    return details


def details_for_display(details: Any) -> list[tuple[str, str]]:
    """``details`` as (key, text) pairs for a page, secrets redacted, nested values as JSON."""
    import json

    if not details:
        return []
    if not isinstance(details, dict):
        return [("", json.dumps(redact(details), ensure_ascii=False))]
    pairs = []
    for key, value in redact(details).items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        pairs.append((str(key), text))
    return pairs


def record_event(
    session: Session,
    action: str,
    *,
    obj: Any = None,
    object_type: str | None = None,
    object_id: Any = None,
    institution_id: int | None = None,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Write an audit event for ``action`` in ``session``'s transaction (one ``INSERT``, now:
    it commits or rolls back with the caller's work).

    The actor is the logged-in user (or the user who started the job that runs now) when
    there is one, otherwise ``actor`` (``cli`` by default). ``obj`` fills ``object_type``/
    ``object_id`` from a model instance. Secret values in ``details`` (passwords, tokens …)
    are redacted before they are stored. A Core statement rather than an ORM object: the
    unit of work's flush of one new object was 2 % of an employer's submit.
    """
    # a request's user, or the user who started the background job that runs now
    user = g.get("user") if has_app_context() else None
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
        if institution_id is None:
            institution_id = getattr(obj, "institution_id", None)
    session.execute(
        _INSERT_EVENT,
        {
            "at": utcnow(),
            "user_id": user.id if user is not None else None,
            "actor": actor or (user.email if user is not None else "cli"),
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "institution_id": institution_id,
            "details": redact(details) if details is not None else None,
            "ip": request.remote_addr if has_request_context() else None,
        },
    )


#: :func:`record_event`'s statement (built once).
_INSERT_EVENT = insert(AuditEvent.__table__)


@dataclasses.dataclass(frozen=True)
class AuditPage:
    """One page of audit events, newest first."""

    events: Sequence[AuditEvent]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _filtered(
    stmt: Any,
    *,
    institution_id: int | None,
    action: str | None,
    actor: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> Any:
    if institution_id is not None:
        stmt = stmt.where(AuditEvent.institution_id == institution_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor:  # actors are e-mails (stored lower-case), ``cli`` or ``invitation:<id>``
        stmt = apply_search(stmt, actor, AuditEvent.actor)
    if date_from is not None:
        start = dt.datetime.combine(date_from, dt.time.min, tzinfo=dt.UTC)
        stmt = stmt.where(AuditEvent.at >= start)
    if date_to is not None:
        # the last instant of the day, not the next midnight: 9999-12-31 has no next day
        end = dt.datetime.combine(date_to, dt.time.max, tzinfo=dt.UTC)
        stmt = stmt.where(AuditEvent.at <= end)
    return stmt


def list_events(
    session: Session,
    *,
    institution_id: int | None = None,
    action: str | None = None,
    actor: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    """Audit events, newest first, filtered; ``institution_id`` None means every institution.

    ``actor`` matches part of the actor (e-mail, ``cli``), case-insensitively; dates are
    whole days in UTC, both ends included.
    """
    filters = {
        "institution_id": institution_id,
        "action": action,
        "actor": actor,
        "date_from": date_from,
        "date_to": date_to,
    }
    total = session.scalar(_filtered(select(func.count(AuditEvent.id)), **filters)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    events = session.scalars(
        _filtered(select(AuditEvent), **filters)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return AuditPage(events, page, per_page, total)


def event_actions(session: Session, *, institution_id: int | None = None) -> list[str]:
    """The distinct actions recorded (in one institution, or everywhere), for a filter list."""
    stmt = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    if institution_id is not None:
        stmt = stmt.where(AuditEvent.institution_id == institution_id)
    return list(session.scalars(stmt))
