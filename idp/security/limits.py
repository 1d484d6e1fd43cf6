"""Rate limits (Flask-Limiter): limits come from config, keys from the client
address or the account being attacked."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request

from idp.accounts import normalise_email


def limit_from(setting: str, section: str = "security") -> Callable[[], str]:
    """A limit string read from the config (``[security]`` by default) at request time."""

    def limit() -> str:
        return str(getattr(getattr(current_app.config["IDP"], section), setting))

    return limit


def account_key() -> str:
    """Counts attempts per target account, whatever address they come from."""
    return "account:" + normalise_email(request.form.get("email", ""))[:320]
