"""Mails about changes made in the account settings ("Konto verwalten")."""

from __future__ import annotations

from idp.mail import issuer_url, outbox
from idp.store import User


def send_password_changed(user: User) -> None:
    """After any password change (settings or reset): if it was not the owner,
    the mail tells them how to take the account back."""
    outbox.queue(
        "password_changed",
        user.email,
        user.locale,
        email=user.email,
        reset_url=issuer_url("recovery.start"),
    )


def send_account_deleted(email: str, locale: str | None) -> None:
    """To the old address of a deleted account, so a deletion by someone else
    does not go unnoticed."""
    outbox.queue("account_deleted", email, locale, email=email)
