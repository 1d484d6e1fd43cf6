"""A durable outbox: mails are rows written in the same transaction as the change
that caused them, delivered after commit, and retried with backoff."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from flask import Flask, current_app, g, render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from idp.mail import transport
from idp.store import OutboxMessage, db, utcnow

log = logging.getLogger(__name__)
CLAIM_SECONDS = 120


def queue(
    kind: str, to: str, locale: str | None, *, reply_to: str | None = None, **context: Any
) -> OutboxMessage:
    """Render ``templates/mail/<kind>/`` in the recipient's language and store it;
    ``reply_to`` sets the Reply-To header (a member writing to their administrator)."""
    config = current_app.config["IDP"]
    locale = locale if locale in config.i18n.locales else config.i18n.default_locale
    with force_locale(locale):
        context.setdefault("product_name", config.branding.product_name)
        subject = render_template(f"mail/{kind}/subject.txt", **context).strip()
        text = render_template(f"mail/{kind}/body.txt", **context)
        html = render_template(f"mail/{kind}/body.html", subject=subject, **context)
    message = OutboxMessage(
        kind=kind,
        to_address=to,
        reply_to=reply_to,
        subject=subject[:300],
        text_body=text,
        html_body=html,
    )
    db.session.add(message)
    g.mail_queued = True
    return message


def deliver_due(limit: int = 20) -> int:
    """Send what is due, one message at a time, each committed on its own.
    Returns the number sent. Safe to run in several processes at once."""
    sent = 0
    for message_id in _due_ids(limit):
        message = _claim(message_id)
        if message is None:
            continue
        try:
            transport.send(message, current_app.config["IDP"])
        except transport.MailError as exc:
            _failed(message, str(exc))
        else:
            _sent(message)
            sent += 1
        db.session.commit()
    return sent


def _due_ids(limit: int) -> list[int]:
    now = utcnow()
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.failed_at.is_(None),
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def _claim(message_id: int) -> OutboxMessage | None:
    now = utcnow()
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None  # another worker has it
    return db.session.get(OutboxMessage, message_id)


def _sent(message: OutboxMessage) -> None:
    message.sent_at = utcnow()
    message.attempts += 1
    message.claimed_until = None
    message.last_error = None
    if current_app.config["IDP"].mail.backend == "smtp":
        # Codes and links do not linger in the database once delivered.
        message.text_body = message.html_body = ""


def _failed(message: OutboxMessage, error: str) -> None:
    config = current_app.config["IDP"].mail
    message.attempts += 1
    message.claimed_until = None
    message.last_error = error[:300]
    if message.attempts >= config.max_attempts:
        message.failed_at = utcnow()
        log.error(
            "giving up on mail %s (%s) after %s tries", message.id, message.kind, message.attempts
        )
        return
    delay = config.retry_seconds * 2 ** (message.attempts - 1)
    message.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
    log.warning(
        "mail %s (%s) not delivered, retry in %ss: %s", message.id, message.kind, delay, error
    )


def pending() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).order_by(OutboxMessage.id)
        )
    )


class DeliveryThread(threading.Thread):
    """One per process: delivers right after a request queued mail (woken), and
    retries due mail every ``mail.retry_seconds`` while any waits. Delivery never
    happens on the request path, so a slow or absent SMTP server neither delays
    the answer nor reveals by timing whether a mail was sent (unknown accounts
    look like known ones)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="mail-delivery", daemon=True)
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = self.app.config["IDP"].mail.retry_seconds
        while not self.stopping.is_set():
            self.wake.wait(interval)
            self.wake.clear()
            if self.stopping.is_set():
                return
            with self.app.app_context():
                try:
                    deliver_due()
                except Exception:  # keep the thread alive through database hiccups
                    log.exception("mail delivery failed; the outbox keeps the message")
                    db.session.rollback()
                finally:
                    db.session.remove()


def stop_delivery(app: Flask) -> None:
    """End the app's delivery thread (an embedding server shutting down, tests)."""
    thread = app.extensions.pop("idp.mail_delivery", None)
    if thread is not None:
        thread.stopping.set()
        thread.wake.set()
        thread.join(timeout=5)


def init_app(app: Flask) -> None:
    lock = threading.Lock()

    def delivery_thread() -> DeliveryThread:
        with lock:
            thread = app.extensions.get("idp.mail_delivery")
            if thread is None or not thread.is_alive():
                thread = DeliveryThread(app)
                app.extensions["idp.mail_delivery"] = thread
                thread.start()
            return thread

    @app.teardown_request
    def deliver_after_commit(error: BaseException | None) -> None:
        if error is not None or not g.pop("mail_queued", False):
            return
        if not app.testing:
            delivery_thread().wake.set()
            return
        # Tests deliver synchronously, so they can read the mail right away.
        db.session.rollback()  # only what the view committed goes out
        try:
            deliver_due()
        except Exception:
            log.exception("mail delivery failed; the outbox keeps the message")
            db.session.rollback()
