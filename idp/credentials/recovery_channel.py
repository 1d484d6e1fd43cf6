"""Recovery channel (a recovery email address or phone number) and the safe
reset of every second factor when all of them are lost.

Setting a channel: the new address or number proves itself with a six-digit
code before it counts. Until then the value waits in the code's
``OneTimeToken`` payload; the ``Credential`` (``recovery_email`` or
``recovery_phone``) is created confirmed, replacing the earlier channel. A
number must differ from every phone factor's (one lost phone must not take the
factor and the way back with it); an address must differ from the account's
own (the password reset goes there already, so one mailbox would be enough to
take the whole account).

Losing every factor: a person who passed the password proves the channel with
a code. That only *requests* the reset: an ``mfa_reset`` row whose
``payload.effective_at`` lies ``mfa.recovery_wait_hours`` ahead, and a mail to
the account's main address with a cancel link (an ``mfa_reset_cancel`` row).
After the waiting period the next sign-in with the password and a fresh
channel code removes the factors and the recovery code. Whoever stole the
password and the channel must stay unnoticed by the owner for that long.

Codes and links are ``OneTimeToken`` rows hashed as ``idp.tokens`` hashes its
own (HMAC-SHA256 keyed with SECRET_KEY over "purpose:secret"), so
``tokens.check_code`` verifies the codes and counts wrong tries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from idp import mfa, sms, tokens
from idp.accounts import MAX_EMAIL_LENGTH, normalise_email
from idp.audit import EventTag, record_event
from idp.credentials import password as password_credential
from idp.errors import (
    ChangeRejected,
    CodeExpired,
    CodeInvalid,
    DomainError,
    InvalidCredentials,
    SendLimitReached,
    TooSoon,
)
from idp.mail import mfa_recovery as recovery_mail
from idp.store import Credential, CredentialType, OneTimeToken, User, db, utcnow

CONFIRM = "mfa_channel_confirm"  # code proving a new channel
RECOVER = "mfa_channel_code"  # code proving the channel when every factor is lost
RESET = "mfa_reset"  # the reset request, waiting for its time
CANCEL = "mfa_reset_cancel"  # the cancel link mailed to the main address
RESET_GRACE = dt.timedelta(days=7)  # how long a due request may still be completed
CHANNEL_TYPES = (CredentialType.RECOVERY_EMAIL, CredentialType.RECOVERY_PHONE)
RESET_TYPES = (*mfa.SECOND_FACTORS, CredentialType.RECOVERY_CODE)
MAX_PHONE_INPUT = 32
MAX_TOKEN_LENGTH = 100
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SMS_NUMBER_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)

Outcome = Literal["requested", "reset"]


class NoRecoveryChannel(DomainError):
    """The account has no confirmed recovery email or phone."""


class ResetPending(DomainError):
    """A reset was requested already and its waiting period is not over."""


@dataclass(frozen=True)
class Destination:
    """Where channel codes go: ``kind`` "email" (an address) or "phone" (E.164)."""

    kind: Literal["email", "phone"]
    value: str


# How each kind is stored: credential type and the key of ``data`` holding the value.
STORED_AS = {
    "email": (CredentialType.RECOVERY_EMAIL, "address"),
    "phone": (CredentialType.RECOVERY_PHONE, "number"),
}


# -- the channel --------------------------------------------------------------
def channel_of(user: User) -> Credential | None:
    """The confirmed recovery channel (at most one is kept)."""
    found = mfa.credentials_of(user, *CHANNEL_TYPES)
    return found[-1] if found else None


def destination_of(credential: Credential) -> Destination:
    kind: Literal["email", "phone"] = (
        "email" if credential.type == CredentialType.RECOVERY_EMAIL else "phone"
    )
    return Destination(kind, str((credential.data or {}).get(STORED_AS[kind][1], "")))


def parse_destination(user: User, *, email: str, phone: str) -> Destination:
    """Exactly one of address or number, valid and different from what the
    account uses already; raises ChangeRejected with a message per field."""
    email, phone = email.strip(), phone.strip()
    if bool(email) == bool(phone):
        message = _("Bitte geben Sie entweder eine E-Mail-Adresse oder eine Telefonnummer an.")
        raise ChangeRejected({"recovery_email": message})
    if email:
        return Destination("email", _parse_email(user, email))
    return Destination("phone", _parse_phone(user, phone))


def _parse_email(user: User, raw: str) -> str:
    address = normalise_email(raw[: MAX_EMAIL_LENGTH * 2])
    if len(address) > MAX_EMAIL_LENGTH or not EMAIL_SHAPE.fullmatch(address):
        raise ChangeRejected(
            {"recovery_email": _("Bitte geben Sie eine gültige E-Mail-Adresse ein.")}
        )
    if address == user.email:
        message = _("Bitte wählen Sie eine andere E-Mail-Adresse als die Ihrer Anmeldung.")
        raise ChangeRejected({"recovery_email": message})
    return address


def _parse_phone(user: User, raw: str) -> str:
    invalid = _(
        "Bitte geben Sie eine Mobilfunknummer ein, die SMS empfangen kann, z. B. +49 151 23456789."
    )
    try:
        parsed = phonenumbers.parse(raw[:MAX_PHONE_INPUT], "DE")
    except phonenumbers.NumberParseException:
        raise ChangeRejected({"recovery_phone": invalid}) from None
    if (
        len(raw) > MAX_PHONE_INPUT
        or not phonenumbers.is_valid_number(parsed)
        or phonenumbers.number_type(parsed) not in SMS_NUMBER_TYPES
    ):
        raise ChangeRejected({"recovery_phone": invalid})
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    factors = mfa.credentials_of(user, CredentialType.PHONE)
    if any((factor.data or {}).get("number") == number for factor in factors):
        message = _("Bitte verwenden Sie eine andere Telefonnummer als die Ihrer SMS-Methode.")
        raise ChangeRejected({"recovery_phone": message})
    return number


def begin_change(
    user: User, *, password: str, email: str, phone: str
) -> tuple[OneTimeToken, Destination]:
    """Check the form and the password, then send a code to the new channel.
    Sending may raise TooSoon, SendLimitReached or sms.GatewayError."""
    errors: dict[str, str] = {}
    destination = None
    try:
        destination = parse_destination(user, email=email, phone=phone)
    except ChangeRejected as rejected:
        errors.update(rejected.errors)
    try:
        password_credential.verify(user, password)
    except InvalidCredentials:
        errors["current_password"] = _("Das Passwort ist falsch.")
    if errors or destination is None:
        raise ChangeRejected(errors)
    payload = {"kind": destination.kind, "value": destination.value}
    row, code = _issue_code(CONFIRM, user, payload)
    _send_code(user, destination, code, CONFIRM)
    return row, destination


def confirm_change(user: User, token_id: int, code: str) -> Credential:
    """The right code makes the new channel count and replaces the old one."""
    row = tokens.check_code(_own_row(CONFIRM, user, token_id), code)
    credential_type, key = STORED_AS["email" if row.payload.get("kind") == "email" else "phone"]
    _delete_credentials(user, CHANNEL_TYPES)
    credential = Credential(
        user_id=user.id,
        type=str(credential_type),
        data={key: str(row.payload.get("value", ""))},
        confirmed_at=utcnow(),
    )
    db.session.add(credential)
    db.session.flush()
    mfa.record_change(user, EventTag.MFA_RECOVERY_CHANNEL_SET, credential)
    return credential


# -- every factor lost ----------------------------------------------------------
def pending_reset(user: User) -> OneTimeToken | None:
    """The live reset request of ``user``: neither completed, cancelled nor dead."""
    return db.session.scalar(
        select(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == RESET,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > utcnow(),
        )
        .order_by(OneTimeToken.id.desc())
        .limit(1)
    )


def effective_at(reset: OneTimeToken) -> dt.datetime:
    """When the request may be completed (never, if its payload is unreadable)."""
    try:
        when = dt.datetime.fromisoformat(str((reset.payload or {})["effective_at"]))
    except (KeyError, TypeError, ValueError):
        return reset.expires_at
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def is_due(reset: OneTimeToken) -> bool:
    return effective_at(reset) <= utcnow()


def begin_recovery(user: User) -> tuple[OneTimeToken, Destination]:
    """Send a code to the channel: to request the reset, or, once the waiting
    period is over, to complete it. Sending may raise TooSoon,
    SendLimitReached or sms.GatewayError."""
    channel = channel_of(user)
    if channel is None:
        raise NoRecoveryChannel()
    pending = pending_reset(user)
    if pending is not None and not is_due(pending):
        raise ResetPending()
    destination = destination_of(channel)
    row, code = _issue_code(RECOVER, user, {"credential_id": channel.id})
    _send_code(user, destination, code, RECOVER)
    return row, destination


def complete_recovery(user: User, token_id: int, code: str) -> tuple[Outcome, OneTimeToken]:
    """The right channel code requests the reset, or completes a due one."""
    row = tokens.check_code(_own_row(RECOVER, user, token_id), code)
    channel = channel_of(user)
    if channel is None or channel.id != row.payload.get("credential_id"):
        raise CodeInvalid()  # the channel changed since the code was sent
    mfa.note_used(channel)
    pending = pending_reset(user)
    if pending is None:
        return "requested", request_reset(user, channel)
    if not is_due(pending):
        raise ResetPending()
    reset_factors(user, pending)
    return "reset", pending


def request_reset(user: User, channel: Credential) -> OneTimeToken:
    """The reset request and the cancel link to the account's main address."""
    hours = current_app.config["IDP"].mfa.recovery_wait_hours
    effective = utcnow() + dt.timedelta(hours=hours)
    expires = effective + RESET_GRACE
    payload: dict[str, Any] = {"effective_at": effective.isoformat(), "channel": channel.type}
    reset, _secret = _issue_link(RESET, user, expires_at=expires, payload=payload)
    _row, cancel_token = _issue_link(
        CANCEL, user, expires_at=expires, payload={"reset_id": reset.id}
    )
    # One mail, with the cancel link, instead of mfa.record_change's generic notice.
    record_event(EventTag.MFA_RESET_REQUESTED, user=user, **payload)
    recovery_mail.send_reset_requested(user, cancel_token, effective)
    return reset


def check_cancel_link(token: str) -> OneTimeToken:
    """The reset request the link cancels; raises CodeInvalid/CodeExpired."""
    return _cancel_target(token)[1]


def _cancel_target(token: str) -> tuple[OneTimeToken, OneTimeToken]:
    link = _find_link(CANCEL, token)
    reset = db.session.get(OneTimeToken, (link.payload or {}).get("reset_id") or 0)
    if (
        reset is None
        or reset.purpose != RESET
        or reset.user_id != link.user_id
        or reset.used_at is not None
    ):
        raise CodeInvalid()
    if reset.expires_at <= utcnow():
        raise CodeExpired()
    return link, reset


def cancel_reset(token: str) -> User:
    """ "Zurücksetzen abbrechen" from the mail: the request and the link die."""
    link, reset = _cancel_target(token)
    _consume(link)
    _consume(reset)
    reset.payload = {**reset.payload, "cancelled_at": utcnow().isoformat()}
    user = db.session.get(User, reset.user_id)
    assert user is not None  # users cascade to their tokens
    mfa.record_change(user, EventTag.MFA_RESET_CANCELLED, None)
    return user


def reset_factors(user: User, reset: OneTimeToken) -> None:
    """Remove every second factor and the recovery code; the channel stays, it
    has just been proved again. Remembered devices must ask again."""
    _consume(reset)
    reset.payload = {**reset.payload, "done_at": utcnow().isoformat()}
    removed = _delete_credentials(user, RESET_TYPES)
    _retire(CANCEL, user)
    mfa.forget_devices(user)
    mfa.record_change(user, EventTag.MFA_RESET_DONE, None, removed=removed)


def _delete_credentials(user: User, types: tuple[CredentialType, ...]) -> int:
    """Confirmed or not: an abandoned enrolment must not survive a reset either."""
    result = db.session.execute(
        delete(Credential).where(
            Credential.user_id == user.id, Credential.type.in_([str(t) for t in types])
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- codes and links ------------------------------------------------------------
def _hash(purpose: str, secret: str) -> str:
    """The same HMAC as ``idp.tokens``, so ``tokens.check_code`` works on these rows."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{secret}".encode(), hashlib.sha256).hexdigest()


def _issue_code(purpose: str, user: User, payload: dict[str, Any]) -> tuple[OneTimeToken, str]:
    """A new code; earlier unused ones of the purpose die. A code asked for again
    before ``accounts.resend_interval`` raises TooSoon (no mail or SMS bombing)."""
    accounts = current_app.config["IDP"].accounts
    recent = utcnow() - dt.timedelta(seconds=accounts.resend_interval)
    waiting = db.session.scalar(
        select(OneTimeToken.id).where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.last_sent_at > recent,
        )
    )
    if waiting is not None:
        raise TooSoon()
    _retire(purpose, user)
    code = tokens.new_code()
    row = OneTimeToken(
        purpose=purpose,
        secret_hash=_hash(purpose, code),
        user_id=user.id,
        email=user.email,
        payload=payload,
        expires_at=utcnow() + dt.timedelta(seconds=accounts.code_lifetime),
    )
    db.session.add(row)
    db.session.flush()
    return row, code


def _send_code(user: User, destination: Destination, code: str, purpose: str) -> None:
    minutes = max(1, current_app.config["IDP"].accounts.code_lifetime // 60)
    if destination.kind == "email":
        recovery_mail.send_channel_code(
            destination.value, code, user.locale, confirm=purpose == CONFIRM
        )
        return
    if not sms.allow(destination.value, user.id):
        raise SendLimitReached()
    sms.send_code(destination.value, code, "sms", user.locale, minutes)


def _own_row(purpose: str, user: User, token_id: object) -> OneTimeToken | None:
    """The code row the session points at, if it is ``user``'s and of ``purpose``."""
    row = db.session.get(OneTimeToken, token_id) if isinstance(token_id, int) else None
    return row if row is not None and row.purpose == purpose and row.user_id == user.id else None


def _issue_link(
    purpose: str, user: User, *, expires_at: dt.datetime, payload: dict[str, Any]
) -> tuple[OneTimeToken, str]:
    """As ``tokens.issue_link``: a 256-bit token, stored hashed; earlier ones die."""
    _retire(purpose, user)
    token = secrets.token_urlsafe(32)
    row = OneTimeToken(
        purpose=purpose,
        secret_hash=_hash(purpose, token),
        user_id=user.id,
        email=user.email,
        payload=payload,
        expires_at=expires_at,
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def _find_link(purpose: str, token: str) -> OneTimeToken:
    """As ``tokens.find_link``: the live row for ``token``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise CodeInvalid()
    row = db.session.scalar(
        select(OneTimeToken).where(
            OneTimeToken.secret_hash == _hash(purpose, token), OneTimeToken.purpose == purpose
        )
    )
    if row is None or row.used_at is not None:
        raise CodeInvalid()
    if row.expires_at <= utcnow():
        raise CodeExpired()
    return row


def _consume(row: OneTimeToken) -> None:
    """Single use even under concurrent requests: only one UPDATE wins."""
    result = db.session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == row.id, OneTimeToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise CodeInvalid()


def _retire(purpose: str, user: User) -> None:
    db.session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
