"""Mails of the recovery flows: reset link, password changed, account blocked."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request, url_for

from idp.mail import outbox
from idp.store import User


def issuer_url(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail, rooted at the configured issuer.

    Never built from the request's Host header: a forged Host would otherwise
    plant the attacker's server in a genuine reset mail (password-reset poisoning)."""
    path = url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    return str(current_app.config["IDP"].issuer).rstrip("/") + path[len(root) :]


def send_password_reset(user: User, link: str, *, minutes: int) -> None:
    """ "Ihr Passwort zurücksetzen": the single-use reset link."""
    outbox.queue("password_reset", user.email, user.locale, link=link, minutes=minutes)


def send_password_changed(user: User) -> None:
    """Confirmation after a reset, with a way back if it was not the owner."""
    outbox.queue(
        "password_changed",
        user.email,
        user.locale,
        email=user.email,
        reset_link=issuer_url("recovery.start"),
    )


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
