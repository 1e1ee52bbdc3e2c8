"""Email over SMTP (smtplib): STARTTLS or implicit TLS, optional AUTH, HTML + plain text."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from alerts.notify.notifiers.base import Message, Notifier, PermanentError, TransientError, register
from core.settings import Settings


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the outbox key: a resent copy carries the same one."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "diemtin.local"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _one_line(text: str) -> str:
    # Scraped titles end up in the Subject; a newline there would inject headers.
    return " ".join(text.split())


def build_email(message: Message, sender: str) -> EmailMessage:
    """The MIME message: text/plain, text/html and inline images, UTF-8 headers."""
    if "@" not in message.target or any(c in message.target for c in "\r\n<>,"):
        raise PermanentError(f"not an email address: {message.target!r}")
    try:
        to = Address(addr_spec=message.target.strip())
    except (ValueError, IndexError, MessageError) as exc:
        raise PermanentError(f"not an email address: {message.target!r}") from exc
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = _one_line(message.subject)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(message.key, sender)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text, charset="utf-8")
    if message.html:
        mail.add_alternative(message.html, subtype="html", charset="utf-8")
        if message.images:
            html_part = mail.get_body(preferencelist=("html",))
            assert isinstance(html_part, EmailMessage)
            for image in message.images:
                html_part.add_related(
                    image.data, maintype="image", subtype=image.subtype, cid=f"<{image.cid}>"
                )
    return mail


class EmailNotifier:
    """Sends through the configured SMTP relay (DIEMTIN_SMTP_*)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.smtp.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp.security == "ssl":
            return smtplib.SMTP_SSL(
                s.smtp.host, s.smtp.port, timeout=s.smtp.timeout_s, context=self._tls()
            )
        client = smtplib.SMTP(s.smtp.host, s.smtp.port, timeout=s.smtp.timeout_s)
        if s.smtp.security == "starttls":
            client.ehlo()
            client.starttls(context=self._tls())
            client.ehlo()
        return client

    def _login(self, client: smtplib.SMTP) -> None:
        client.ehlo_or_helo_if_needed()
        client.user, client.password = self.settings.smtp.username, self.settings.smtp.password
        # PLAIN alone when offered (always inside TLS here): smtplib.login() would go on to
        # try LOGIN after a refusal, which some servers answer by waiting for more input.
        if "PLAIN" in client.esmtp_features.get("auth", "").upper().split():
            client.auth("PLAIN", client.auth_plain)
        else:
            client.login(self.settings.smtp.username, self.settings.smtp.password)

    def send(self, message: Message) -> str:
        """Deliver one email; returns its Message-ID."""
        s = self.settings
        mail = build_email(message, s.smtp.sender)
        try:
            with self._connect() as client:
                if s.smtp.username:
                    self._login(client)
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentError(f"recipient refused: {exc.recipients}") from exc
            raise TransientError(f"recipient deferred: {exc.recipients}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            # Wrong credentials stay wrong: an admin fixes them and re-queues (CLI).
            raise PermanentError(f"SMTP authentication failed: {exc.smtp_code}") from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if exc.smtp_code >= 500:
                raise PermanentError(text) from exc
            raise TransientError(text) from exc
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(f"SMTP server certificate rejected: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            # Refused connection, timeout, dropped session: the relay may be back soon.
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}: {exc}") from exc
        return str(mail["Message-ID"])


@register("email")
def _factory(settings: Settings) -> Notifier:
    return EmailNotifier(settings)
