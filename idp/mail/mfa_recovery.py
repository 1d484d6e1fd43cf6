"""Mails of the recovery channel: the code that proves a recovery address, the
code that proves it when every factor is lost, and the notice of a requested
reset (with its cancel link) to the account's main address."""

from __future__ import annotations

import datetime as dt

from flask import current_app

from idp.mail import issuer_url, outbox
from idp.store import User


def _minutes() -> int:
    return max(1, current_app.config["IDP"].accounts.code_lifetime // 60)


def send_channel_code(address: str, code: str, locale: str | None, *, confirm: bool) -> None:
    """To the recovery address: ``confirm`` when it is being set (proves it can
    be read), otherwise when its owner has lost every factor."""
    kind = "mfa_recovery_confirm" if confirm else "mfa_recovery_code"
    outbox.queue(kind, address, locale, code=code, minutes=_minutes())


def send_reset_requested(user: User, cancel_token: str, effective_at: dt.datetime) -> None:
    """To the main address: a reset of the factors was requested through the
    recovery channel; it takes effect at ``effective_at`` unless cancelled."""
    outbox.queue(
        "mfa_reset_requested",
        user.email,
        user.locale,
        cancel_url=issuer_url("mfa_recovery_channel.cancel", token=cancel_token),
        effective_at=effective_at,
        hours=current_app.config["IDP"].mfa.recovery_wait_hours,
        reset_url=issuer_url("recovery.start"),
    )
