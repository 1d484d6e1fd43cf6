"""Authenticator apps (TOTP, RFC 6238): enrol, confirm, verify.

The shared secret is encrypted at rest with Fernet under a key derived from
``MFA_ENCRYPTION_KEY``, so a copy of the database alone cannot mint codes.
Codes are accepted one step either side of now (RFC 6238 5.2: clock drift and
typing time), and a step once used is never accepted again (RFC 6238 5.2: the
verifier MUST NOT accept the second attempt of the same OTP): the last used
step is kept in ``data["last_step"]``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
import unicodedata
from functools import cache

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import delete, select

from idp.errors import CodeInvalid, NotFound
from idp.store import Credential, CredentialType, User, db, utcnow

log = logging.getLogger(__name__)

DIGITS = 6
VALID_WINDOW = 1  # steps accepted before and after the current one
MAX_INPUT = 64


class CodeReused(CodeInvalid):
    """The code is right but its time step was used already (a replay)."""


@cache
def _fernet(key_material: str) -> Fernet:
    key = base64.urlsafe_b64encode(hashlib.sha256(key_material.encode()).digest())
    return Fernet(key)


def _cipher() -> Fernet:
    return _fernet(current_app.config["MFA_ENCRYPTION_KEY"])


def begin_enrolment(user: User) -> tuple[Credential, str]:
    """A new, unconfirmed authenticator for ``user`` and its secret in clear
    (for the QR code). Any earlier unconfirmed one, an abandoned try, goes."""
    db.session.execute(
        delete(Credential).where(
            Credential.user_id == user.id,
            Credential.type == str(CredentialType.TOTP),
            Credential.confirmed_at.is_(None),
        )
    )
    secret = pyotp.random_base32()  # 160 bits, RFC 4226 4 R6 recommends that
    credential = Credential(
        user_id=user.id,
        type=str(CredentialType.TOTP),
        secret=_cipher().encrypt(secret.encode()).decode(),
        data={},
    )
    db.session.add(credential)
    db.session.flush()
    return credential, secret


def pending_enrolment(user: User, credential_id: int) -> tuple[Credential, str]:
    """The unconfirmed authenticator ``credential_id`` of ``user`` and its secret."""
    credential = db.session.get(Credential, credential_id)
    if (
        credential is None
        or credential.user_id != user.id
        or credential.type != CredentialType.TOTP
        or credential.confirmed_at is not None
    ):
        raise NotFound()
    secret = secret_of(credential)
    if secret is None:
        raise NotFound()
    return credential, secret


def confirm(user: User, credential_id: int, code: str) -> Credential:
    """Enrolment completes only with a correct code from the app: proof that it
    holds the secret. Raises NotFound or CodeInvalid."""
    credential, _secret = pending_enrolment(user, credential_id)
    _check(credential, code)
    credential.confirmed_at = utcnow()
    return credential


def verify(user: User, code: str) -> Credential:
    """The confirmed authenticator of ``user`` that shows ``code`` now.

    Raises CodeReused for a step already used, CodeInvalid otherwise. The rows
    are locked (PostgreSQL) so two requests with one code cannot both pass."""
    credentials = db.session.scalars(
        select(Credential)
        .where(
            Credential.user_id == user.id,
            Credential.type == str(CredentialType.TOTP),
            Credential.confirmed_at.is_not(None),
        )
        .order_by(Credential.id)
        .with_for_update()
    ).all()
    reused = False
    for credential in credentials:
        try:
            _check(credential, code)
        except CodeReused:
            reused = True
        except CodeInvalid:
            continue
        else:
            return credential
    raise CodeReused() if reused else CodeInvalid()


def secret_of(credential: Credential) -> str | None:
    """The secret in clear, or None when it cannot be decrypted (the
    encryption key changed: the operator must restore it)."""
    try:
        return _cipher().decrypt((credential.secret or "").encode()).decode()
    except InvalidToken:
        log.error("TOTP secret of credential %s cannot be decrypted", credential.id)
        return None


def issuer_name() -> str:
    """The name the app shows above the code."""
    config = current_app.config["IDP"]
    return str(config.mfa.totp_issuer or config.branding.product_name)


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI the QR code carries: issuer and account shown in the app."""
    totp = pyotp.TOTP(secret, digits=DIGITS)
    return totp.provisioning_uri(name=user.email, issuer_name=issuer_name())


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup, made here: no third party sees the secret."""
    return str(
        segno.make(uri, error="m").svg_inline(scale=4, border=4, omitsize=True, light="#fff")
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise(code: str) -> str | None:
    """Six digits out of what was typed ("123 456", full-width digits), or None."""
    typed = unicodedata.normalize("NFKC", code[:MAX_INPUT]).replace(" ", "").replace("-", "")
    return typed if len(typed) == DIGITS and typed.isascii() and typed.isdigit() else None


def _check(credential: Credential, code: str) -> None:
    """Accept ``code`` for a step within the window that is newer than the last
    used one, and remember that step."""
    typed = normalise(code)
    secret = secret_of(credential)
    if typed is None or secret is None:
        raise CodeInvalid()
    totp = pyotp.TOTP(secret, digits=DIGITS)
    now = totp.timecode(time.time())
    last_step = int((credential.data or {}).get("last_step", -1))
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if hmac.compare_digest(typed, totp.generate_otp(step)):
            if step <= last_step:
                raise CodeReused()
            # A new dict: the JSON column does not track changes inside it.
            credential.data = {**(credential.data or {}), "last_step": step}
            return
    raise CodeInvalid()
