"""Small request/response helpers shared by the page views of every feature."""

from __future__ import annotations

from flask import flash, request


def page_arg() -> int:
    """The ``page`` query argument as a page number (1 for anything that is not one)."""
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def no_store(response):
    """Pages showing personal data or a one-time password: no browser or proxy may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def apply_input_error(form, error) -> None:
    """Show a service's refusal (an ``InputError``) beside the field it concerns, or flash it."""
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
