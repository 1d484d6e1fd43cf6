"""The outbox against a real SMTP server: rendering, delivery, retry with backoff."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import g
from sqlalchemy import select, update

from idp.mail import outbox
from idp.store import OutboxMessage, db


def queue_code(to="anna@example.de", locale="de"):
    message = outbox.queue("verify_email", to, locale, code="123456", minutes=15)
    db.session.commit()
    g.pop("mail_queued", None)
    return message


def overdue():
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.execute(update(OutboxMessage).values(next_attempt_at=past))
    db.session.commit()


def test_message_is_sent_with_text_and_html_in_the_recipients_language(app, mailbox):
    queue_code(locale="en")
    assert outbox.deliver_due() == 1
    mail = mailbox.last("anna@example.de")
    assert mail["From"] == "Kunden-ID <kunden-id@example.com>"
    assert mail["Subject"] == "Verify your email address"
    assert "123456" in mailbox.text(mail)
    assert mail.get_body(preferencelist=("html",)) is not None


def test_german_is_the_default_language(app, mailbox):
    queue_code(locale=None)
    outbox.deliver_due()
    assert mailbox.last("anna@example.de")["Subject"] == "Verifizieren Sie Ihre E-Mail-Adresse"


def test_smtp_failure_keeps_the_message_and_retries_with_backoff(app, mailbox):
    message = queue_code()
    mailbox.refuse = True
    assert outbox.deliver_due() == 0
    db.session.refresh(message)
    assert message.attempts == 1 and message.sent_at is None and "451" in message.last_error
    first_delay = message.next_attempt_at
    assert outbox.deliver_due() == 0  # not due yet: no second try
    overdue()
    outbox.deliver_due()
    db.session.refresh(message)
    assert message.attempts == 2 and message.next_attempt_at - first_delay > dt.timedelta(0)
    mailbox.refuse = False
    overdue()
    assert outbox.deliver_due() == 1
    assert mailbox.code("anna@example.de") == "123456"


@pytest.mark.config(mail={"port": 1})
def test_unreachable_server_is_retried_not_lost(app):
    message = queue_code()
    assert outbox.deliver_due() == 0
    db.session.refresh(message)
    assert message.sent_at is None and message.last_error


@pytest.mark.config(mail={"max_attempts": 2})
def test_gives_up_after_max_attempts(app, mailbox):
    message = queue_code()
    mailbox.refuse = True
    outbox.deliver_due()
    overdue()
    outbox.deliver_due()
    db.session.refresh(message)
    assert message.failed_at is not None
    overdue()
    assert outbox.deliver_due() == 0


def test_delivered_bodies_are_blanked(app, mailbox):
    message = queue_code()
    outbox.deliver_due()
    db.session.refresh(message)
    assert message.sent_at and message.text_body == "" and message.html_body == ""


def test_cli_flush_sends_what_waits(app, mailbox, idp_cli):
    queue_code()
    mailbox.refuse = True
    outbox.deliver_due()
    assert "verify_email\tanna@example.de\t1 tries" in idp_cli("outbox", "list")
    mailbox.refuse = False
    assert idp_cli("outbox", "flush") == "sent 1, 0 waiting\n"
    assert len(mailbox.to("anna@example.de")) == 1


@pytest.mark.config(mail={"backend": "console"})
def test_console_backend_shows_mail_on_the_dev_page(app, client):
    queue_code()
    outbox.deliver_due()
    page = client.get("/dev/mail/")
    assert page.status_code == 200 and b"123456" in page.data
    assert db.session.scalar(select(OutboxMessage.sent_at)) is not None


def test_dev_page_does_not_exist_with_smtp(client):
    assert client.get("/dev/mail/").status_code == 404
