"""Passkeys (WebAuthn) with py_webauthn: the registration and assertion
ceremonies, verified for real (challenge, origin, RP ID hash, flags, signature,
sign counter), and the credential rows they create and update.

The ceremonies are split in two halves like the browser's: ``*_options`` gives
the options for ``navigator.credentials.create/get`` and the challenge the
caller keeps (the flow stores it in the session, single-use, 5 minutes);
``register`` / ``authenticate`` check the browser's answer against it.

No HTTP here: functions of (user, input) that return a result or raise one of
the errors below.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp import mfa
from idp.errors import ChangeRejected, DomainError
from idp.store import Credential, CredentialType, User, db, utcnow

CHALLENGE_LIFETIME = 5 * 60  # seconds; also the browser's timeout
MAX_NAME_LENGTH = 100
MAX_RESPONSE_LENGTH = 64 * 1024  # a real answer is a few kB; more is not a browser
# ``Credential.lookup`` holds the id in base64url: at most 255 characters, i.e.
# 191 bytes. Real authenticators use 16 to 128.
MAX_CREDENTIAL_ID_LENGTH = 255


class PasskeyRejected(DomainError):
    """The browser's answer does not verify: malformed, wrong challenge, origin
    or RP ID, bad signature, no user verification where required, or a
    credential that is unknown or belongs to someone else."""


class PasskeyCloned(PasskeyRejected):
    """The signature is good but the sign counter did not increase: a second
    authenticator holds a copy of the key (WebAuthn L2 §6.1.1)."""

    def __init__(self, credential: Credential) -> None:
        super().__init__("sign counter did not increase")
        self.credential = credential


class PasskeyAlreadyRegistered(PasskeyRejected):
    """The authenticator answered with a credential that is already stored."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str


@dataclass(frozen=True)
class Ceremony:
    """Options for ``navigator.credentials`` (JSON-ready) and their challenge."""

    options: dict[str, Any]
    challenge: str  # base64url


def relying_party() -> RelyingParty:
    """RP ID from ``mfa.webauthn_rp_id`` or the issuer's host name; the origin
    is the issuer's (WebAuthn compares scheme, host and port)."""
    config = current_app.config["IDP"]
    issuer = urlsplit(config.issuer)
    return RelyingParty(
        id=config.mfa.webauthn_rp_id or issuer.hostname or "localhost",
        name=config.branding.product_name,
        origin=f"{issuer.scheme}://{issuer.netloc}",
    )


def passkeys_of(user: User) -> list[Credential]:
    return mfa.credentials_of(user, CredentialType.WEBAUTHN)


def check_name(name: Any) -> str:
    """A passkey's name ("Laptop", "Handy"): required, at most 100 characters."""
    # Control characters (NUL among them) have no place in a label.
    name = "".join(c if c.isprintable() else " " for c in name) if isinstance(name, str) else ""
    name = " ".join(name.split())
    if not name:
        raise ChangeRejected({"name": _("Bitte geben Sie einen Namen für den Passkey ein.")})
    if len(name) > MAX_NAME_LENGTH:
        raise ChangeRejected(
            {"name": _("Der Name darf höchstens %(max)d Zeichen lang sein.", max=MAX_NAME_LENGTH)}
        )
    return name


# -- registration -----------------------------------------------------------
def registration_options(user: User) -> Ceremony:
    """A discoverable credential (so it can sign in without a password), user
    verification preferred, the user's existing passkeys excluded."""
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user.sub.encode(),
        user_name=user.email,
        user_display_name=user.display_name,
        timeout=CHALLENGE_LIFETIME * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(passkeys_of(user)),
    )
    return Ceremony(options_to_json_dict(options), bytes_to_base64url(options.challenge))


def register(user: User, response: Any, challenge: str, name: Any) -> Credential:
    """Verify the answer to ``registration_options`` and store the passkey,
    confirmed. Attestation "none": we trust the key, not the device's maker."""
    name = check_name(name)
    rp = relying_party()
    try:
        parsed = parse_registration_credential_json(_as_json(response))
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except Exception as error:  # the library raises many types for hostile input
        raise PasskeyRejected(str(error)) from error
    lookup = bytes_to_base64url(verified.credential_id)
    if len(lookup) > MAX_CREDENTIAL_ID_LENGTH:
        raise PasskeyRejected("credential id too long to store")
    if db.session.scalar(select(Credential.id).where(Credential.lookup == lookup)) is not None:
        raise PasskeyAlreadyRegistered(lookup)
    credential = Credential(
        user_id=user.id,
        type=CredentialType.WEBAUTHN,
        name=name,
        lookup=lookup,
        data={
            "public_key": bytes_to_base64url(verified.credential_public_key),
            "sign_count": verified.sign_count,
            "transports": [str(t.value) for t in parsed.response.transports or []],
            "aaguid": verified.aaguid,
            "backed_up": verified.credential_backed_up,
        },
        confirmed_at=utcnow(),
    )
    db.session.add(credential)
    db.session.flush()
    return credential


def rename(credential: Credential, name: Any) -> None:
    credential.name = check_name(name)


# -- authentication ---------------------------------------------------------
def authentication_options(user: User | None) -> Ceremony:
    """For a known user (second factor): their passkeys, user verification
    preferred. Without one (passwordless): any discoverable passkey for this
    RP, and the authenticator must verify the user itself."""
    rp = relying_party()
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=CHALLENGE_LIFETIME * 1000,
        allow_credentials=_descriptors(passkeys_of(user)) if user else [],
        user_verification=UserVerificationRequirement.PREFERRED
        if user
        else UserVerificationRequirement.REQUIRED,
    )
    return Ceremony(options_to_json_dict(options), bytes_to_base64url(options.challenge))


def authenticate(response: Any, challenge: str, user: User | None) -> tuple[Credential, bool]:
    """Verify an assertion; returns the passkey used and whether the
    authenticator verified the user (UV flag). With ``user`` the passkey must be
    theirs; without, the passkey's owner signs in, so UV is required and the
    user handle must name the owner (WebAuthn L2 §7.2 step 6)."""
    try:
        parsed = parse_authentication_credential_json(_as_json(response))
    except Exception as error:
        raise PasskeyRejected(str(error)) from error
    credential = _stored(parsed.id)
    owner = db.session.get(User, credential.user_id) if credential else None
    if credential is None or owner is None or (user is not None and owner.id != user.id):
        raise PasskeyRejected("unknown credential")
    handle = parsed.response.user_handle
    if user is None and (handle is None or not secrets.compare_digest(handle, owner.sub.encode())):
        raise PasskeyRejected("user handle does not name the owner")
    stored_count = int(credential.data.get("sign_count", 0))
    rp = relying_party()
    try:
        # The counter is checked below, after the signature, so that only the
        # key's holder can make a passkey look cloned.
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(credential.data["public_key"]),
            credential_current_sign_count=0,
            require_user_verification=user is None,
        )
    except Exception as error:
        raise PasskeyRejected(str(error)) from error
    new_count = verified.new_sign_count
    if (new_count > 0 or stored_count > 0) and new_count <= stored_count:
        raise PasskeyCloned(credential)
    credential.data = {
        **credential.data,
        "sign_count": new_count,
        "backed_up": verified.credential_backed_up,
    }
    mfa.note_used(credential)
    return credential, verified.user_verified


def _stored(lookup: str) -> Credential | None:
    if not lookup or len(lookup) > MAX_CREDENTIAL_ID_LENGTH:
        return None
    return db.session.scalar(
        select(Credential).where(
            Credential.lookup == lookup,
            Credential.type == str(CredentialType.WEBAUTHN),
            Credential.confirmed_at.is_not(None),
        )
    )


def _descriptors(credentials: list[Credential]) -> list[PublicKeyCredentialDescriptor]:
    descriptors = []
    for credential in credentials:
        transports = []
        for name in credential.data.get("transports") or []:
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue
        descriptors.append(
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(credential.lookup or ""), transports=transports or None
            )
        )
    return descriptors


def _as_json(response: Any) -> dict[str, Any]:
    """The browser's ``PublicKeyCredential`` as a JSON object (sent as an object
    or as JSON text in a form field)."""
    if isinstance(response, str):
        if len(response) > MAX_RESPONSE_LENGTH:
            raise PasskeyRejected("response too large")
        response = json.loads(response)
    if not isinstance(response, dict):
        raise PasskeyRejected("response is not an object")
    return response
