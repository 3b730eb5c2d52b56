"""The invitation and reminder e-mails, and one SMTP connection that a batch reuses.

A message is multipart (plain text + HTML) in the invitation's language: the campaign's
text for that language with its placeholders filled (the built-in text if the campaign has
none), the personal link, the deadline, whom to contact, and a link to decline. Its
``Message-ID`` is the same for every try of one step (invitation, issue, step), so a mail
system that sees a message twice can tell it is the same one.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import secrets
import smtplib
import ssl
from collections.abc import Mapping
from email.utils import formataddr, formatdate
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

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

    def send(self, message: Outgoing) -> SmtpReply:
        """Hand ``message`` to the server; its reply (a refusal is a reply, not an error).

        Raises :class:`MailServerUnreachable` when there is no server to talk to.
        """
        if self._smtp is None:
            self._smtp = self._connect()
        options: list[str] = []
        if _header_safe(message.recipient) != message.recipient:
            return SmtpReply(553, "not an address: it has white space or control characters")
        if not message.recipient.isascii():
            if not self._smtp.has_extn("smtputf8"):
                return SmtpReply(553, "the server takes no addresses with non-ASCII characters")
            options.append("SMTPUTF8")
        try:
            refused = self._smtp.sendmail(
                self.settings.sender, [message.recipient], message.data, mail_options=options
            )
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


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One e-mail as it goes on the wire."""

    message_id: str
    recipient: str
    data: bytes  #: the whole message (headers and MIME parts), CRLF line ends


#: A personal field's place in a rendered skeleton (see :func:`compose_all`).
_MARK = "\x1e{}\x1f"
_MARKED = re.compile("\x1e(\\w+)\x1f")
#: Addresses that may go into a header and an SMTP command as they are.
_HEADER_SAFE = re.compile(r"[^\x00-\x20\x7f]+")


@dataclasses.dataclass(frozen=True)
class _Skeleton:
    """An e-mail rendered once for the letters it shares everything but personal fields with,
    with :data:`_MARK`\\ s where those go."""

    subject: str
    text: str
    html: str
    headers: str  #: From, Reply-To, Content-Language … (CRLF-ended lines)


def compose(letter: Letter, settings: SmtpSettings) -> Outgoing:
    """The e-mail of ``letter`` (text and HTML alternatives), in its language."""
    return compose_all([letter], settings)[letter.invitation_id]


def compose_all(letters: list[Letter], settings: SmtpSettings) -> dict[int, Outgoing]:
    """The e-mails of ``letters`` by invitation id, each in its own language.

    Letters of a batch differ in a few personal fields only (employer, graduate, programme,
    links): the templates are rendered once per language and step with markers in those
    places, and each message fills in its own values, escaped for the HTML part. The MIME
    text is written here (two base64 parts of ``multipart/alternative``): the ``email``
    package's generator folded all 16 headers of every message through ``Header`` objects,
    which cost more than rendering and sending together.
    """
    date = formatdate(localtime=False)
    boundary = f"hamkor-{secrets.token_hex(12)}"  # "-" is no base64 character
    skeletons: dict[tuple, _Skeleton] = {}
    messages: dict[int, Outgoing] = {}
    for letter in letters:
        key = (
            letter.language,
            bool(letter.step),
            letter.campaign_text,
            letter.institution,
            letter.deadline,
            letter.contact,
        )
        skeleton = skeletons.get(key)
        if skeleton is None:
            skeleton = skeletons[key] = _skeleton(letter, settings, boundary)
        messages[letter.invitation_id] = _fill(skeleton, letter, settings, date, boundary)
    return messages


def _skeleton(letter: Letter, settings: SmtpSettings, boundary: str) -> _Skeleton:
    marked = dataclasses.replace(
        letter,
        employer=_MARK.format("employer"),
        graduate=_MARK.format("graduate"),
        programme=_MARK.format("programme"),
        link=_MARK.format("link"),
        decline_link=_MARK.format("decline_link"),
    )
    with force_locale(letter.language):
        body = (letter.campaign_text or default_text()).format(
            employer=marked.employer,
            graduate=marked.graduate,
            programme=marked.programme,
            link=_MARK.format("body_link"),  # a clickable link in the HTML part
            deadline=letter.deadline.isoformat(),
        )
        if letter.step:
            subject = _(
                "Reminder: your assessment of %(graduate)s for %(institution)s",
                graduate=marked.graduate,
                institution=letter.institution,
            )
        else:
            subject = _(
                "%(institution)s asks for your assessment of %(graduate)s",
                graduate=marked.graduate,
                institution=letter.institution,
            )
        context = {"letter": marked, "body": body, "subject": subject}
        # the templates straight from the environment: an e-mail needs none of the page
        # context processors render_template would run
        environment = current_app.jinja_env
        text = environment.get_template("campaigns/email.txt").render(context)
        html = environment.get_template("campaigns/email.html").render(context)
    headers = (
        # one encoded word, as the email package wrote it: mail readers join folded words
        # of a display name with spaces inside a word
        f"From: {formataddr((letter.institution, _header_safe(settings.sender)), 'utf-8')}\r\n"
        f"Reply-To: {_header_safe(letter.contact)}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        f"Content-Language: {letter.language}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
    )
    return _Skeleton(subject=subject, text=text, html=html, headers=headers)


def _fill(
    skeleton: _Skeleton, letter: Letter, settings: SmtpSettings, date: str, boundary: str
) -> Outgoing:
    raw = {
        "employer": letter.employer,
        "graduate": letter.graduate,
        "programme": letter.programme,
        "link": letter.link,
        "decline_link": letter.decline_link,
        "body_link": letter.link,
    }
    escaped = {name: str(escape(value)) for name, value in raw.items()}
    escaped["body_link"] = f'<a href="{escaped["link"]}">{escaped["link"]}</a>'
    text = _MARKED.sub(lambda m: raw[m.group(1)], skeleton.text)
    html = _MARKED.sub(lambda m: escaped[m.group(1)], skeleton.html)
    subject = _MARKED.sub(lambda m: raw[m.group(1)], skeleton.subject)
    identifier = message_id(letter, settings.sender)
    recipient = letter.email  # an address with white space is refused before sending
    message = (
        f"Subject: {_encoded_words(subject)}\r\n"
        f"To: {_header_safe(recipient)}\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: {identifier}\r\n"
        f"{skeleton.headers}\r\n"
        f"--{boundary}\r\n{_part(text, 'plain')}"
        f"--{boundary}\r\n{_part(html, 'html')}"
        f"--{boundary}--\r\n"
    )
    return Outgoing(identifier, recipient, message.encode("utf-8"))


CRLF = "\r\n"


def _part(content: str, subtype: str) -> str:
    """A UTF-8 text part in base64, lines of 76 characters, as ``MIMEText`` writes it."""
    encoded = base64.encodebytes(content.encode("utf-8")).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + encoded.replace("\n", CRLF)
    )


def _encoded_words(text: str) -> str:
    """``text`` as RFC 2047 encoded words (UTF-8, base64), each at most 72 characters, one
    per folded line. ``email.header.Header`` chooses between base64 and quoted-printable by
    measuring both, character by character: that cost more than the rest of a message."""
    data = text.encode("utf-8")
    words = []
    while data:
        cut = min(len(data), 45)  # 45 bytes are 60 base64 characters
        while cut < len(data) and 0x80 <= data[cut] < 0xC0:  # not inside a character
            cut -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[:cut]).decode('ascii')}?=")
        data = data[cut:]
    return "\r\n ".join(words)


def _header_safe(value: str) -> str:
    """An address without the white space or control characters that would end a header
    line (an address never has them; a stray one must not inject a header)."""
    return "".join(_HEADER_SAFE.findall(value))
