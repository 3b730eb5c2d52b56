"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port).

It keeps every message it accepts, parsed, and can refuse recipients: a permanent 550 for
the addresses in ``refuse``, a temporary 451 for those in ``defer``.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.processes import free_port


class Recorder:
    """The aiosmtpd handler: records messages, refuses or defers chosen addresses."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        if address in self.defer:
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    """Start with :meth:`start`, stop with :meth:`stop`; ``config`` is the app settings."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    @property
    def config(self) -> dict:
        return {
            "HAMKOR_SMTP_HOST": "127.0.0.1",
            "HAMKOR_SMTP_PORT": self.port,
            "HAMKOR_SMTP_USER": None,
            "HAMKOR_SMTP_PASSWORD": None,
            "HAMKOR_SMTP_STARTTLS": False,
            "HAMKOR_SMTP_SENDER": "quality@karshi.example",
        }

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain text and HTML parts of ``message``."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html
