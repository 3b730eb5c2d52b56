"""Who may open what: the logged-in user, role checks and institution scope.

Every staff/admin/committee view is decorated with :func:`roles_required`; services then
receive the institution id from :func:`institution_scope` so that staff can only ever touch
their own institution's rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g, redirect, request, session, url_for

from surveys.auth.models import Role, User, new_session_epoch
from surveys.extensions import db


def load_logged_in_user() -> None:
    """Put the session's active user (or None) on ``g.user`` before each request."""
    user_id = session.get("user_id")
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is not None and (not user.active or session.get("auth_epoch") != _epoch(user)):
        session.clear()  # deactivated, or password changed since this session logged in
        user = None
    g.user = user


def _epoch(user: User) -> str:
    """The value a valid session of ``user`` carries (see :func:`end_sessions`)."""
    return user.session_epoch


def end_sessions(user: User) -> None:
    """End every session of ``user`` at its next request (a new random epoch).

    Called when the password changes (by the user or an administrator) and when the account
    is deactivated; the request that changed one's own password starts a new session after.
    """
    user.session_epoch = new_session_epoch()


def start_session(user: User) -> None:
    """Log ``user`` in: a fresh session (no fixation), bound to the user's session epoch."""
    lang = session.get("lang")
    session.clear()
    session["user_id"] = user.id
    session["auth_epoch"] = _epoch(user)
    if lang:
        session["lang"] = lang
    session.permanent = True


def roles_required(*roles: Role | str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow a view to the given roles only.

    Anonymous visitors are sent to the login page (and back afterwards); a logged-in user of
    another role gets 403.
    """
    allowed = {Role(r) for r in roles}

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # read by the access-control tests
        return wrapped

    return decorator


def institution_scope(requested_id: int | None = None) -> int | None:
    """The institution id the current user may act on.

    Staff always get their own institution (a different ``requested_id`` is refused with
    403); admins get ``requested_id`` (None = all institutions).
    """
    user: User = g.user
    if user.role == Role.STAFF:
        if requested_id is not None and requested_id != user.institution_id:
            abort(403)
        return user.institution_id
    if user.role == Role.ADMIN:
        return requested_id
    abort(403)
