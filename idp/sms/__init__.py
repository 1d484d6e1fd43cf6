"""Text messages and voice calls: the only code that talks to the SMS/voice
gateway. ``console`` logs the message (development); ``http`` POSTs JSON to the
configured URL with a bearer token:

    {"to": "+4930123456", "channel": "sms" | "voice", "text": "...", "sender": "..."}

A 2xx answer means accepted; anything else raises GatewayError.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Literal

from flask import current_app

from idp.errors import DomainError

log = logging.getLogger(__name__)
Channel = Literal["sms", "voice"]


class GatewayError(DomainError):
    """The gateway did not accept the message."""


def send(number: str, text: str, channel: Channel = "sms") -> None:
    config = current_app.config["IDP"].sms
    if config.backend == "console":
        # Development only (config refuses console with an https issuer).
        log.warning("%s to %s: %s", channel.upper(), number, text)
        return
    body = json.dumps({"to": number, "channel": channel, "text": text,
                       "sender": config.sender}).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is operator config, http(s) checked
        config.url, data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {config.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise GatewayError(f"gateway answered {response.status}")
    except (urllib.error.URLError, OSError) as exc:
        raise GatewayError(f"{type(exc).__name__}: {exc}") from exc


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
