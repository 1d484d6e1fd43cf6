"""Mails of registration and email change: codes to the address being proved,
notices to the address that owns the account."""

from __future__ import annotations

from flask import current_app

from idp.mail import issuer_url, outbox
from idp.store import User


def _minutes() -> int:
    return max(1, current_app.config["IDP"].accounts.code_lifetime // 60)


def send_verification_code(email: str, code: str, locale: str | None) -> None:
    """ "Verifizieren Sie Ihre E-Mail-Adresse": the code that finishes a registration."""
    outbox.queue("verify_email", email, locale, code=code, minutes=_minutes())


def send_registration_attempt(owner: User) -> None:
    """Instead of a code when the address already has an account: the visitor sees
    the usual code page, the owner learns of the attempt and how to get in."""
    has_recovery = "recovery.start" in current_app.view_functions
    outbox.queue(
        "registration_attempt",
        owner.email,
        owner.locale,
        email=owner.email,
        login_url=issuer_url("login.login"),
        reset_url=issuer_url("recovery.start" if has_recovery else "login.login"),
    )


def send_email_change_code(email: str, code: str, locale: str | None) -> None:
    """The code that proves the person changing their address can read the new one."""
    outbox.queue("email_change_code", email, locale, code=code, minutes=_minutes())


def send_email_changed_notice(old_email: str, new_email: str, locale: str | None) -> None:
    """To the old address once the change is done, so a takeover does not go unnoticed."""
    support_url = current_app.config["IDP"].branding.support_url
    outbox.queue(
        "email_changed_notice",
        old_email,
        locale,
        old_email=old_email,
        new_email=new_email,
        support_url=support_url,
    )
