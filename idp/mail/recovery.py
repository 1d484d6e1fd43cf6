"""Mails of the recovery flows: reset link, password changed, account blocked."""

from __future__ import annotations

from idp.mail import issuer_url, outbox
from idp.store import User


def send_password_reset(user: User, link: str, *, minutes: int) -> None:
    """ "Ihr Passwort zurücksetzen": the single-use reset link."""
    outbox.queue("password_reset", user.email, user.locale, link=link, minutes=minutes)


def send_account_blocked(user: User, link: str, *, minutes: int) -> None:
    """Once per block: the unblock link, and the reset page in case it was not the owner."""
    outbox.queue(
        "account_blocked",
        user.email,
        user.locale,
        link=link,
        minutes=minutes,
        reset_link=issuer_url("recovery.start"),
    )
