"""Logging that never writes a survey link's secret.

An employer's link ``/s/<token>`` is the only key to their form (``surveys.campaigns.tokens``):
a database backup alone opens nothing, and a leaked log must not either. Every log line that
passes through the app's loggers — gunicorn's access and error logs (``hamkor serve``), the
development server's request log (werkzeug) and the app's own error lines — has each token in
a ``/s/…`` URL replaced by ``[token 1a2b3c4d]``: the first eight hex digits of the token's
SHA-256, the start of ``invitations.token_hash``, so support can still find the invitation
behind a log line.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

from surveys.campaigns.tokens import token_hash

#: A survey link's token in a URL path, also percent-encoded (``next=%2Fs%2F…``).
_TOKEN_IN_URL = re.compile(r"((?:/|%2[Ff])s(?:/|%2[Ff]))([A-Za-z0-9_-]+)")

#: Loggers whose lines may contain a requested URL.
MASKED_LOGGERS = ("gunicorn.access", "gunicorn.error", "werkzeug")


def mask_tokens(text: str) -> str:
    """``text`` with every ``/s/<token>`` written as ``/s/[token <hash prefix>]``."""
    return _TOKEN_IN_URL.sub(lambda m: f"{m[1]}[token {token_hash(m[2])[:8]}]", text)


class TokenMaskingFilter(logging.Filter):
    """Masks tokens in a record's message, traceback and stack before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_tokens(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_tokens(record.stack_info)
        return True


def setup_logging(app: Flask) -> None:
    """Put the masking filter on the app's logger and on the servers' loggers (once each)."""
    for name in (app.logger.name, *MASKED_LOGGERS):
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenMaskingFilter) for f in logger.filters):
            logger.addFilter(TokenMaskingFilter())
