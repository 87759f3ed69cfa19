"""E-mail through SMTP: YOUCARD_SMTP_URL (`smtp://user:password@host:587?starttls=1`, or
`smtps://` for TLS from the start) and YOUCARD_MAIL_FROM (`Stadt Hamm <youcard@hamm.de>`).
Unset: no e-mail is sent; the messages wait (staff see what would have been sent)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from youcard.messages.texts import Rendered

DEFAULT_FROM = "YouCard <youcard@localhost>"
TIMEOUT = 30  # seconds for the server to answer


@dataclass(frozen=True)
class Mail:
    """An e-mail ready to send: its recipient, its Message-ID, its bytes."""

    to: str
    message_id: str
    data: bytes


class Permanent(Exception):
    """The server refused the message for good (5xx): the address does not work."""


class Temporary(Exception):
    """Not sent this time (no connection, 4xx): tried again later."""


@dataclass(frozen=True)
class Mailer:
    """An SMTP server to send through."""

    host: str
    port: int
    tls: str  # "starttls", "tls" (smtps) or "" (a local relay)
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Mailer | None:
        """The mailer the environment configures, or None."""
        url = env.get("YOUCARD_SMTP_URL", "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("YOUCARD_SMTP_URL is smtp://[user:password@]host[:port][?starttls=1]")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        tls = "tls" if parts.scheme == "smtps" else "starttls" if starttls else ""
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls == "tls" else 587 if starttls else 25),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=env.get("YOUCARD_MAIL_FROM", "").strip() or DEFAULT_FROM,
        )

    @property
    def envelope_from(self) -> str:
        """The sender's bare address (the SMTP envelope's MAIL FROM)."""
        return parseaddr(self.sender)[1] or "youcard@localhost"

    @property
    def domain(self) -> str:
        """The sender's domain: the Message-IDs' right side."""
        return parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"

    def message(self, outbox_id: int, to: str, rendered: Rendered) -> Mail:
        """The e-mail of outbox row `outbox_id`: its id is the Message-ID, so a receiver
        drops a copy sent again after a crash between sending and marking it sent. Plain
        text and HTML, and the PDFs it carries; built with email.mime (half the time of
        EmailMessage: bench/messages.py)."""
        body = MIMEMultipart("alternative")
        body.attach(MIMEText(rendered.text, "plain", "utf-8"))
        body.attach(MIMEText(rendered.html, "html", "utf-8"))
        mail = body
        if rendered.attachments:
            mail = MIMEMultipart("mixed")
            mail.attach(body)
            for filename, data in rendered.attachments:
                part = MIMEApplication(data, "pdf")
                part.add_header("Content-Disposition", "attachment", filename=filename)
                mail.attach(part)
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = Header(rendered.subject, "utf-8").encode()
        message_id = f"<outbox-{outbox_id}@{self.domain}>"
        mail["Message-ID"] = message_id
        mail["Auto-Submitted"] = "auto-generated"
        return Mail(to, message_id, mail.as_bytes(policy=policy.SMTP))

    def send(self, mails: list[Mail]) -> list[Exception | None]:
        """Send `mails` over one connection: per mail None (sent), Permanent or Temporary.
        No connection at all: every one Temporary."""
        try:
            server = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            return [Temporary(_words(error)) for _ in mails]
        results: list[Exception | None] = []
        try:
            for mail in mails:
                try:
                    server.sendmail(self.envelope_from, [mail.to], mail.data)
                    results.append(None)
                except smtplib.SMTPRecipientsRefused as error:
                    code = min(code for code, _ in error.recipients.values())
                    results.append(_by_code(code, error))
                except smtplib.SMTPResponseException as error:
                    results.append(_by_code(error.smtp_code, error))
                except (OSError, smtplib.SMTPException) as error:
                    results.append(Temporary(_words(error)))
                    break
        finally:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                server.close()
        results += [Temporary("the connection ended") for _ in mails[len(results) :]]
        return results

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        server: smtplib.SMTP
        if self.tls == "tls":
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            if self.tls == "starttls":
                server.starttls(context=context)
        if self.username:
            server.login(self.username, self.password or "")
        return server


def _by_code(code: int, error: Exception) -> Exception:
    return (Permanent if 500 <= code < 600 else Temporary)(_words(error))


def _words(error: Exception) -> str:
    """What went wrong, without the message or the address (they are personal data)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{code} {reply.decode(errors='replace')}" for code, reply in error.recipients.values()
        )[:300]
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{error.smtp_code} {text}"[:300]
    return type(error).__name__
