"""The phone factor: a six-digit code sent by SMS or read out by a call.

A number counts only once a code sent to it was typed back (``confirmed_at``).
``data`` holds ``{"number": "+49…", "channel": "sms" | "voice"}``; the number is
E.164, parsed with region DE by default. SMS needs a number that can receive
text messages (mobile); a call also reaches fixed lines. Premium-rate,
toll-free, shared-cost and similar numbers are refused: they cannot take a code
or calling them costs money (toll fraud).

Codes live in a ``PendingCode`` the caller keeps (the flows keep it in the
server-side session): HMAC-hashed with the server secret, ten minutes valid,
five tries. Sending is throttled per number and per account (``idp.sms.allow``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from phonenumbers import PhoneNumberType
from sqlalchemy import delete

from idp import mfa, sms
from idp.audit import EventTag
from idp.errors import CodeExpired, CodeInvalid, DomainError, TooManyAttempts
from idp.store import Credential, CredentialType, User, db, utcnow

DEFAULT_REGION = "DE"
MAX_INPUT_LENGTH = 40
CODE_LIFETIME = 10 * 60
MAX_ATTEMPTS = 5
CHANNELS: tuple[sms.Channel, ...] = ("sms", "voice")
# RFC 8176: "sms" for a text message, "tel" for a call.
AMR = {"sms": "sms", "voice": "tel"}
SMS_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
VOICE_TYPES = SMS_TYPES | {PhoneNumberType.FIXED_LINE, PhoneNumberType.VOIP}


class NumberRejected(DomainError):
    """The number (or the channel) cannot be used; ``reason`` is the message for
    ``field``."""

    def __init__(self, reason: str, field: str = "number") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class AlreadyEnrolled(DomainError):
    """The user already has this number as a confirmed factor."""


class CodeThrottled(DomainError):
    """More codes asked for than ``sms.limit_per_number`` / ``limit_per_account`` allow."""


@dataclass
class PendingCode:
    """A code on its way to one of ``user_id``'s phone credentials."""

    user_id: int
    credential_id: int
    channel: str
    code_hash: str
    expires: float
    sent_at: float
    attempts: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> PendingCode | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(**data)
        except TypeError:  # a record of an older shape
            return None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def belongs_to(self, user: User, credential: Credential) -> bool:
        return self.user_id == user.id and self.credential_id == credential.id

    @property
    def live(self) -> bool:
        return time.time() < self.expires and self.attempts < MAX_ATTEMPTS


# -- numbers ----------------------------------------------------------------
def normalise_number(raw: str, channel: str) -> str:
    """The number in E.164, or NumberRejected with a message for the field."""
    raw = raw.strip()
    if not raw:
        raise NumberRejected(_("Bitte geben Sie Ihre Telefonnummer ein."))
    invalid = NumberRejected(
        _(
            "Bitte geben Sie eine gültige Telefonnummer ein, "
            "zum Beispiel 0151 23456789 oder +43 664 1234567."
        )
    )
    if len(raw) > MAX_INPUT_LENGTH:
        raise invalid
    try:
        parsed = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise invalid from None
    if not phonenumbers.is_valid_number(parsed):
        raise invalid
    kind = phonenumbers.number_type(parsed)
    if channel == "sms" and kind not in SMS_TYPES:
        if kind in VOICE_TYPES:
            raise NumberRejected(
                _(
                    "An diese Nummer können wir keine SMS senden. Bitte geben Sie eine "
                    "Mobilfunknummer ein oder wählen Sie „Anruf“."
                )
            )
        raise NumberRejected(_("Diese Art von Rufnummer können wir nicht verwenden."))
    if kind not in VOICE_TYPES:
        raise NumberRejected(_("Diese Art von Rufnummer können wir nicht verwenden."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display_number(number: str) -> str:
    """E.164 as people read it: "+49 151 23456789"."""
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# -- enrolment --------------------------------------------------------------
def begin_enrolment(user: User, raw_number: str, channel: str) -> tuple[Credential, PendingCode]:
    """An unconfirmed phone credential for ``user`` (an earlier unfinished one
    goes) and the code sent to it.

    Raises NumberRejected, AlreadyEnrolled, CodeThrottled or sms.GatewayError."""
    if channel not in CHANNELS:
        raise NumberRejected(_("Bitte wählen Sie SMS oder Anruf."), field="channel")
    number = normalise_number(raw_number, channel)
    if any(factor.data.get("number") == number for factor in factors_of(user)):
        raise AlreadyEnrolled(number)
    remove_unconfirmed(user)
    credential = Credential(
        user_id=user.id,
        type=str(CredentialType.PHONE),
        data={"number": number, "channel": channel},
    )
    db.session.add(credential)
    db.session.flush()
    return credential, send_code(user, credential)


def remove_unconfirmed(user: User) -> None:
    """An abandoned enrolment's row goes when the next one starts."""
    db.session.execute(
        delete(Credential).where(
            Credential.user_id == user.id,
            Credential.type == str(CredentialType.PHONE),
            Credential.confirmed_at.is_(None),
        )
    )


def pending_enrolment(user: User, credential_id: int) -> Credential | None:
    """The unconfirmed phone credential ``credential_id`` of ``user``, if any."""
    credential = db.session.get(Credential, credential_id)
    if (
        credential is None
        or credential.user_id != user.id
        or credential.type != CredentialType.PHONE
        or credential.confirmed
    ):
        return None
    return credential


def confirm_enrolment(user: User, credential: Credential, pending: PendingCode, code: str) -> None:
    """The right code makes the number a factor: audit event and notice mail.

    Raises CodeInvalid, CodeExpired, TooManyAttempts or AlreadyEnrolled."""
    verify_code(pending, user, credential, code)
    if any(f.data.get("number") == credential.data.get("number") for f in factors_of(user)):
        raise AlreadyEnrolled(credential.data.get("number"))
    credential.confirmed_at = utcnow()
    mfa.record_change(user, EventTag.MFA_ENROLLED, credential, channel=channel_of(credential))


# -- factors ----------------------------------------------------------------
def factors_of(user: User) -> list[Credential]:
    """The user's confirmed phone factors, the one used last first."""
    factors = mfa.credentials_of(user, CredentialType.PHONE)
    return sorted(factors, key=lambda c: c.last_used_at or c.created_at, reverse=True)


def find_factor(user: User, credential_id: str | int | None) -> Credential | None:
    """A confirmed phone factor of ``user`` by id; the preferred one when no id
    is given; None for anything unknown or foreign."""
    factors = factors_of(user)
    if credential_id in (None, ""):
        return factors[0] if factors else None
    return next((f for f in factors if str(f.id) == str(credential_id)), None)


def channel_of(credential: Credential) -> sms.Channel:
    return "voice" if credential.data.get("channel") == "voice" else "sms"


def amr_of(credential: Credential) -> str:
    return AMR[channel_of(credential)]


# -- codes ------------------------------------------------------------------
def _hash(credential_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"phone:{credential_id}:{code}".encode(), hashlib.sha256).hexdigest()


def send_code(user: User, credential: Credential) -> PendingCode:
    """A new code to the credential's number over its channel.

    Raises CodeThrottled (nothing sent) or sms.GatewayError (not delivered)."""
    number = str(credential.data.get("number", ""))
    if not sms.allow(number, user.id):
        raise CodeThrottled(number)
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = time.time()
    pending = PendingCode(
        user_id=user.id,
        credential_id=credential.id,
        channel=channel_of(credential),
        code_hash=_hash(credential.id, code),
        expires=now + CODE_LIFETIME,
        sent_at=now,
    )
    sms.send_code(number, code, channel_of(credential), user.locale, CODE_LIFETIME // 60)
    return pending


def verify_code(pending: PendingCode, user: User, credential: Credential, code: str) -> None:
    """Check ``code`` against ``pending`` and count the try in it.

    Raises CodeInvalid (wrong; also a code for another credential), CodeExpired,
    or TooManyAttempts (the fifth wrong try kills the code)."""
    if not pending.belongs_to(user, credential) or not pending.code_hash:
        raise CodeInvalid()
    if pending.attempts >= MAX_ATTEMPTS:
        raise TooManyAttempts()
    if time.time() >= pending.expires:
        raise CodeExpired()
    digits = "".join(code.split())[:20]
    if digits.isdigit() and hmac.compare_digest(pending.code_hash, _hash(credential.id, digits)):
        pending.code_hash = ""  # used
        return
    pending.attempts += 1
    if pending.attempts >= MAX_ATTEMPTS:
        raise TooManyAttempts()
    raise CodeInvalid()
