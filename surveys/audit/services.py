"""Recording audit events; callers pass their session and never rely on a commit here."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from sqlalchemy.orm import Session

from surveys.audit.models import AuditEvent


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
) -> AuditEvent:
    """Add an audit event for ``action`` to ``session`` (flushed with the caller's work).

    The actor is the logged-in user when there is one, otherwise ``actor`` (``cli`` by
    default). ``obj`` fills ``object_type``/``object_id`` from a model instance.
    """
    user = g.get("user") if has_request_context() else None
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
        if institution_id is None:
            institution_id = getattr(obj, "institution_id", None)
    event = AuditEvent(
        user_id=user.id if user is not None else None,
        actor=actor or (user.email if user is not None else "cli"),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        institution_id=institution_id,
        details=details,
        ip=request.remote_addr if has_request_context() else None,
    )
    session.add(event)
    return event
