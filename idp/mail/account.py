"""Mails about changes made in the account settings ("Konto verwalten")."""

from __future__ import annotations

from flask import current_app, url_for

from idp.mail import outbox
from idp.store import User


def send_password_changed(user: User) -> None:
    """After a password change in the settings: if it was not the owner, the
    mail tells them how to take the account back."""
    # The recovery flow's page when it is installed, else the login page that links to it.
    has_recovery = "recovery.start" in current_app.view_functions
    reset_url = url_for("recovery.start" if has_recovery else "login.login", _external=True)
    outbox.queue(
        "password_changed_notice", user.email, user.locale, email=user.email, reset_url=reset_url
    )


def send_account_deleted(email: str, locale: str | None) -> None:
    """To the old address of a deleted account, so a deletion by someone else
    does not go unnoticed."""
    outbox.queue("account_deleted", email, locale, email=email)
