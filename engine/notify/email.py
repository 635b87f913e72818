"""E-mail over SMTP (smtplib): UTF-8 multipart messages, optional attachments.

Settings come from api.config.Settings (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD,
SMTP_FROM, SMTP_STARTTLS, SMTP_SSL, SMTP_TIMEOUT). E-mail is off while SMTP_HOST is empty.
SMTP_SSL=1 connects with implicit TLS (default port 465); otherwise STARTTLS is required
(port 587) unless SMTP_STARTTLS=0, for a trusted relay on port 25 (no TLS at all)."""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from types import TracebackType
from typing import Protocol


class SmtpSettings(Protocol):
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_from: str
    smtp_starttls: bool
    smtp_ssl: bool
    smtp_timeout: float


class EmailNotConfigured(RuntimeError):
    pass


def smtp_configured(settings: SmtpSettings) -> bool:
    return bool(settings.smtp_host) and bool(sender_address(settings))


def sender_address(settings: SmtpSettings) -> str:
    """SMTP_FROM (may carry a display name: `审批平台 <noreply@example.com>`), else SMTP_USER when it
    is an address."""
    if settings.smtp_from:
        return settings.smtp_from
    return settings.smtp_user if "@" in settings.smtp_user else ""


def _domain(settings: SmtpSettings) -> str:
    addr = getaddresses([sender_address(settings)])
    address = addr[0][1] if addr else ""
    return address.rpartition("@")[2] or "localhost"


def message_id_for(settings: SmtpSettings, local: str) -> str:
    """A stable Message-ID (the same mail sent twice after a crash is recognisably one)."""
    return f"<{local}@{_domain(settings)}>"


Attachment = tuple[str, bytes, str]  # (filename, content, mimetype)


def build_message(settings: SmtpSettings, to: str | Sequence[str], subject: str, text: str, html: str | None = None,
                  attachments: Iterable[Attachment] = (), *, message_id: str | None = None,
                  headers: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender_address(settings)
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id or make_msgid(domain=_domain(settings))
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    for filename, content, mimetype in attachments:
        maintype, _, subtype = (mimetype or "application/octet-stream").partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg


def display_address(name: str, address: str) -> str:
    """`显示名 <user@example.com>` (encoded as needed when the message is written)."""
    username, _, domain = address.partition("@")
    return str(Address(display_name=name or "", username=username, domain=domain))


class SmtpConnection:
    """One SMTP session for several messages: `with SmtpConnection(settings) as smtp: smtp.send(msg)`."""

    def __init__(self, settings: SmtpSettings) -> None:
        if not smtp_configured(settings):
            raise EmailNotConfigured("SMTP is not configured (SMTP_HOST and SMTP_FROM)")
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self.settings
        context = ssl.create_default_context()
        if s.smtp_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port or 465, timeout=s.smtp_timeout,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port or (587 if s.smtp_starttls else 25), timeout=s.smtp_timeout)
        try:
            smtp.ehlo()
            if s.smtp_starttls and not s.smtp_ssl:
                smtp.starttls(context=context)  # refuses to go on in the clear if the server cannot
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def send(self, msg: EmailMessage) -> None:
        """Raises smtplib errors; SMTPRecipientsRefused when some recipient was refused."""
        refused = self.open().send_message(msg)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def reset(self) -> None:
        """Drop the connection (after an error); the next send opens a new one."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    close = reset

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def send_mail(settings: SmtpSettings, to: str | Sequence[str], subject: str, text: str, html: str | None = None,
              attachments: Iterable[Attachment] = (), *, message_id: str | None = None,
              headers: dict[str, str] | None = None) -> str:
    """Send one UTF-8 e-mail (plain text, optional HTML alternative, optional attachments as
    (filename, bytes, mimetype)). Returns its Message-ID. Raises EmailNotConfigured, or smtplib's
    errors (SMTPRecipientsRefused, SMTPAuthenticationError, OSError for the connection...)."""
    msg = build_message(settings, to, subject, text, html, attachments, message_id=message_id, headers=headers)
    with SmtpConnection(settings) as smtp:
        smtp.send(msg)
    return str(msg["Message-ID"])


def is_permanent(exc: BaseException) -> bool:
    """A refusal for this message itself (5xx for its recipient or content), not worth retrying.
    Connection, authentication and 4xx errors are transient."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return 500 <= exc.smtp_code < 600
    return False
