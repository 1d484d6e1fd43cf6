"""The only code that talks SMTP."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from idp.config import Config
from idp.store import OutboxMessage

log = logging.getLogger(__name__)


class MailError(Exception):
    pass


def build(message: OutboxMessage, config: Config) -> EmailMessage:
    mail = EmailMessage()
    sender = config.mail.from_name or config.branding.product_name
    mail["From"] = formataddr((sender, config.mail.from_address))
    mail["To"] = message.to_address
    mail["Subject"] = message.subject
    if message.reply_to:
        mail["Reply-To"] = message.reply_to
    mail["Message-ID"] = make_msgid(domain=Address(addr_spec=config.mail.from_address).domain)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text_body)
    mail.add_alternative(message.html_body, subtype="html")
    return mail


def send(message: OutboxMessage, config: Config) -> None:
    mail = build(message, config)
    if config.mail.backend == "console":
        log.info("mail to %s: %s\n%s", message.to_address, message.subject, message.text_body)
        return
    settings = config.mail
    try:
        if settings.security == "tls":
            context = ssl.create_default_context()
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password)
            client.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
