"""Multi-factor authentication: which factors a user has, when a second factor
is needed, remembered devices, and the bookkeeping every factor change does.

The factors themselves live in ``idp/credentials/`` (enrol / verify / remove,
no HTTP); the login step and the enrolment pages in ``idp/flows/mfa*.py``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from idp.audit import EventTag, record_event
from idp.store import (
    Credential,
    CredentialType,
    RememberedDevice,
    User,
    db,
    digest,
    utcnow,
)

# Factors that count as a second factor at sign-in, and how RFC 8176 names
# each in ``amr``. A phone factor says "sms" or "tel" by the channel used.
SECOND_FACTORS = (CredentialType.TOTP, CredentialType.PHONE, CredentialType.WEBAUTHN)
AMR = {
    CredentialType.TOTP: "otp",
    CredentialType.WEBAUTHN: "hwk",
    CredentialType.RECOVERY_CODE: "otp",
}
DEVICE_COOKIE = "idp_device"


def credentials_of(user: User, *types: CredentialType) -> list[Credential]:
    """Confirmed credentials of the given types (all types when none given)."""
    query = select(Credential).where(
        Credential.user_id == user.id, Credential.confirmed_at.is_not(None)
    )
    if types:
        query = query.where(Credential.type.in_([str(t) for t in types]))
    return list(db.session.scalars(query.order_by(Credential.id)))


def second_factors(user: User) -> list[Credential]:
    return credentials_of(user, *SECOND_FACTORS)


def has_second_factor(user: User) -> bool:
    return bool(second_factors(user))


def preferred_factor(user: User) -> Credential | None:
    """The factor offered first: the one used last, else the first enrolled."""
    factors = second_factors(user)
    if not factors:
        return None
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return max(factors, key=lambda c: (c.last_used_at or epoch, -c.id))


def required_for(client_id: str | None) -> bool:
    """Does the policy demand a second factor for this sign-in?"""
    config = current_app.config["IDP"].mfa
    if config.policy == "required":
        return True
    return config.policy == "per_client" and client_id in config.required_for_clients


def note_used(credential: Credential) -> None:
    credential.last_used_at = utcnow()


def record_change(user: User, tag: EventTag, credential: Credential | None, **details: Any) -> None:
    """Every change to factors: an audit event and a mail to the account's address."""
    from idp.mail.mfa import send_factors_changed

    if credential is not None:
        details.setdefault("type", credential.type)
        details.setdefault("name", credential.name)
    record_event(tag, user=user, **details)
    send_factors_changed(user, tag, details.get("type"))


# -- remembered devices -----------------------------------------------------
def remember_device(user: User, user_agent: str | None) -> tuple[str, int]:
    """A new device token for the cookie; returns (token, max_age seconds)."""
    days = current_app.config["IDP"].mfa.remember_device_days
    token = secrets.token_urlsafe(32)
    db.session.add(
        RememberedDevice(
            user_id=user.id,
            token_hash=digest(token),
            user_agent=(user_agent or "")[:500],
            expires_at=utcnow() + dt.timedelta(days=days),
        )
    )
    return token, days * 24 * 3600


def is_remembered(user: User, token: str | None) -> bool:
    if not token or len(token) > 100 or not current_app.config["IDP"].mfa.remember_device_days:
        return False
    row = db.session.scalar(
        select(RememberedDevice).where(RememberedDevice.token_hash == digest(token))
    )
    return (
        row is not None
        and row.user_id == user.id
        and row.revoked_at is None
        and row.expires_at > utcnow()
    )


def forget_devices(user: User) -> None:
    """After a factor change or reset, every remembered device asks again."""
    db.session.execute(
        update(RememberedDevice)
        .where(RememberedDevice.user_id == user.id, RememberedDevice.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
