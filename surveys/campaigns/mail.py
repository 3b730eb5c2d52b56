"""The invitation and reminder e-mails, and one SMTP connection that a batch reuses.

A message is multipart (plain text + HTML) in the invitation's language: the campaign's
text for that language with its placeholders filled (the built-in text if the campaign has
none), the personal link, the deadline, whom to contact, and a link to decline. Its
``Message-ID`` is the same for every try of one step (invitation, issue, step), so a mail
system that sees a message twice can tell it is the same one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import smtplib
import ssl
from collections.abc import Mapping
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

#: Seconds to wait for the mail server before the batch gives up (retried later).
SMTP_TIMEOUT = 30


@dataclasses.dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes (``HAMKOR_SMTP_*``)."""

    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        return cls(
            host=config["HAMKOR_SMTP_HOST"],
            port=int(config["HAMKOR_SMTP_PORT"]),
            user=config.get("HAMKOR_SMTP_USER") or None,
            password=config.get("HAMKOR_SMTP_PASSWORD") or None,
            starttls=bool(config.get("HAMKOR_SMTP_STARTTLS")),
            sender=config["HAMKOR_SMTP_SENDER"],
        )


@dataclasses.dataclass(frozen=True)
class SmtpReply:
    """What the mail server said to one message."""

    code: int | None  #: None when it said nothing (unreachable, disconnected)
    text: str

    @property
    def accepted(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        """A 5xx refusal: trying again will not help (unknown address, policy)."""
        return self.code is not None and 500 <= self.code < 600


class MailServerUnreachable(Exception):
    """No connection to the mail server (or it dropped us): the batch stops, retried later."""


class Mailer:
    """One SMTP connection for a batch: opened on the first message, reused, closed at the
    end (``with Mailer(settings) as mailer: mailer.send(message)``)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self.connections = 0  #: how many times a connection was opened (1 for a batch)

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        try:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT)
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise MailServerUnreachable(
                f"{settings.host}:{settings.port}: {exc.__class__.__name__}: {exc}"
            ) from exc
        self.connections += 1
        return smtp

    def send(self, message: Message) -> SmtpReply:
        """Hand ``message`` to the server; its reply (a refusal is a reply, not an error).

        Raises :class:`MailServerUnreachable` when there is no server to talk to.
        """
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return SmtpReply(code, _decode(text))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return SmtpReply(exc.smtp_code, _decode(exc.smtp_error))
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._smtp = None
            raise MailServerUnreachable(f"{exc.__class__.__name__}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            return SmtpReply(exc.smtp_code, _decode(exc.smtp_error))
        if refused:  # several recipients, some refused (never the case here: one each)
            code, text = next(iter(refused.values()))
            return SmtpReply(code, _decode(text))
        # smtplib keeps the server's reply to the end of DATA in no public place: noop()
        # would cost a round trip per message, so the accepted reply is recorded as 250
        return SmtpReply(250, "accepted")

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _decode(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text[:1000]


@dataclasses.dataclass(frozen=True)
class Letter:
    """Everything one e-mail says (plain values, read from the database beforehand)."""

    invitation_id: int
    issue: int
    step: int  #: 0 = invitation, n = n-th reminder
    email: str
    language: str
    employer: str
    graduate: str
    programme: str
    institution: str
    campaign_text: str | None  #: the campaign's own text in ``language``, if any
    link: str
    decline_link: str
    deadline: dt.date
    contact: str


def default_text() -> str:
    """The built-in invitation text, in the current language (with placeholders)."""
    return _(
        "Dear {employer},\n\n"
        "{graduate}, a graduate of our programme {programme}, works with you. We ask you "
        "to assess their preparation in a short form: it takes about ten minutes, and your "
        "answers help us improve the programme.\n\n"
        "Your personal link: {link}\n\n"
        "Answers are accepted until {deadline}."
    )


def message_id(letter: Letter, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "hamkor.invalid"
    return f"<hamkor.{letter.invitation_id}.{letter.issue}.{letter.step}@{domain}>"


def compose(letter: Letter, settings: SmtpSettings) -> Message:
    """The e-mail of ``letter`` (text and HTML alternatives), in its language."""
    return compose_all([letter], settings)[letter.invitation_id]


def compose_all(letters: list[Letter], settings: SmtpSettings) -> dict[int, Message]:
    """The e-mails of ``letters`` by invitation id, each in its own language (the language
    is switched once per language, not once per message)."""
    messages: dict[int, Message] = {}
    by_language: dict[str, list[Letter]] = {}
    for letter in letters:
        by_language.setdefault(letter.language, []).append(letter)
    for language, group in by_language.items():
        with force_locale(language):
            fallback = default_text()
            for letter in group:
                messages[letter.invitation_id] = _compose(letter, settings, fallback)
    return messages


def _compose(letter: Letter, settings: SmtpSettings, fallback: str) -> Message:
    values = {
        "employer": letter.employer,
        "graduate": letter.graduate,
        "programme": letter.programme,
        "link": letter.link,
        "deadline": letter.deadline.isoformat(),
    }
    body = (letter.campaign_text or fallback).format(**values)
    if letter.step:
        subject = _(
            "Reminder: your assessment of %(graduate)s for %(institution)s",
            graduate=letter.graduate,
            institution=letter.institution,
        )
    else:
        subject = _(
            "%(institution)s asks for your assessment of %(graduate)s",
            graduate=letter.graduate,
            institution=letter.institution,
        )
    context = {"letter": letter, "body": body, "subject": subject}
    # the templates straight from the environment: an e-mail needs none of the page
    # context processors render_template would run for each of thousands of messages
    environment = current_app.jinja_env
    text = environment.get_template("campaigns/email.txt").render(context)
    html = environment.get_template("campaigns/email.html").render(context)
    # the classic (compat32) message classes: a fraction of the cost of EmailMessage's parsed
    # headers, which a batch of thousands would pay on every one
    message = MIMEMultipart("alternative")
    message["Subject"] = Header(subject, "utf-8")
    message["From"] = formataddr((letter.institution, settings.sender), charset="utf-8")
    message["To"] = letter.email
    message["Reply-To"] = letter.contact
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(letter, settings.sender)
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = letter.language
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message
