"""Text messages and voice calls: the only code that talks to the SMS/voice
gateway. ``console`` logs the message (development); ``http`` POSTs JSON to the
configured URL with a bearer token:

    {"to": "+4930123456", "channel": "sms" | "voice", "text": "...", "sender": "..."}

A 2xx answer means accepted; anything else (an error status, a refused or
broken connection, a timeout) raises GatewayError, so callers have one failure
to turn into a message.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
from typing import Literal

from flask import current_app
from flask_babel import force_locale, ngettext

from idp.errors import DomainError

log = logging.getLogger(__name__)
Channel = Literal["sms", "voice"]


class GatewayError(DomainError):
    """The gateway did not accept the message."""


def send(number: str, text: str, channel: Channel = "sms") -> None:
    """Hand one message to the gateway; ``number`` is E.164."""
    config = current_app.config["IDP"].sms
    if config.backend == "console":
        # Development only (config refuses console with an https issuer).
        log.warning("%s to %s: %s", channel.upper(), number, text)
        return
    body = json.dumps(
        {"to": number, "channel": channel, "text": text, "sender": config.sender}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is operator config, http(s) checked
        config.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {config.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise GatewayError(f"gateway answered {response.status}")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        # URLError covers error statuses (HTTPError) and refused connections;
        # HTTPException a garbled answer; OSError timeouts and resets.
        log.warning("SMS gateway did not take the %s to %s: %s", channel, number[:4], exc)
        raise GatewayError(f"{type(exc).__name__}: {exc}") from exc


def send_code(number: str, code: str, channel: Channel, locale: str | None, minutes: int) -> None:
    """ "Ihr Code für <product>: 123456. Er ist 10 Minuten gültig." in the
    recipient's language. A call reads the digits one by one ("1 2 3 4 5 6")."""
    config = current_app.config["IDP"]
    locale = locale if locale in config.i18n.locales else config.i18n.default_locale
    spoken = " ".join(code) if channel == "voice" else code
    with force_locale(locale):
        text = ngettext(
            "Ihr Code für %(product)s: %(code)s. Er ist %(num)d Minute gültig.",
            "Ihr Code für %(product)s: %(code)s. Er ist %(num)d Minuten gültig.",
            minutes,
            product=config.branding.product_name,
            code=spoken,
        )
    send(number, text, channel)


def allow(number: str, user_id: int | None) -> bool:
    """Flood guard: at most ``sms.limit_per_number`` codes per number and
    ``sms.limit_per_account`` per account (shared between workers when the
    rate-limit storage is Redis). Counts the attempt when allowed."""
    from limits import parse

    from idp.extensions import limiter

    config = current_app.config["IDP"].sms
    checks = [(parse(config.limit_per_number), f"sms:number:{number}")]
    if user_id is not None:
        checks.append((parse(config.limit_per_account), f"sms:account:{user_id}"))
    strategy = limiter.limiter
    if not all(strategy.test(item, key) for item, key in checks):
        return False
    for item, key in checks:
        strategy.hit(item, key)
    return True
