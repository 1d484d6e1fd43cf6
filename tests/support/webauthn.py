"""A software authenticator: answers WebAuthn options the way a browser with a
platform authenticator would, byte for byte, so the provider's py_webauthn
checks run for real (no mocks).

It holds EC P-256 keys (COSE alg -7), returns attestation "none" on
registration, and signs assertions over ``authenticatorData || SHA-256(
clientDataJSON)``. The CBOR it needs (maps, integers, byte and text strings)
is encoded here, independent of the library under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40  # authenticatorData flags


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor(value: Any) -> bytes:
    """CTAP2 canonical CBOR for the few types WebAuthn uses here."""

    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if length < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | info]) + struct.pack(fmt, length)
        raise ValueError("too long")

    if isinstance(value, bool) or value is None:
        raise TypeError("not needed")
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, dict):
        items = sorted((cbor(k), cbor(v)) for k, v in value.items())  # canonical key order
        return head(5, len(items)) + b"".join(k + v for k, v in items)
    raise TypeError(type(value))


@dataclass
class SoftCredential:
    id: bytes
    rp_id: str
    user_handle: bytes
    key: ec.EllipticCurvePrivateKey
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y
        return cbor(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )


@dataclass
class SoftAuthenticator:
    """``create(options)`` and ``get(options)`` take the JSON options the
    provider sends and return the JSON a browser would post back
    (``PublicKeyCredential.toJSON()``)."""

    origin: str = "http://localhost"
    user_verifying: bool = True
    counter_step: int = 1  # 0: an authenticator without a counter (many passkeys)
    aaguid: bytes = bytes(16)
    credentials: list[SoftCredential] = field(default_factory=list)

    def create(
        self,
        options: dict[str, Any],
        origin: str | None = None,
        again: SoftCredential | None = None,
    ) -> dict[str, Any]:
        """``again``: attest an existing credential once more, as a client that
        ignores ``excludeCredentials`` would."""
        rp_id = options["rp"]["id"]
        mine = {c.id for c in self.credentials if c.rp_id == rp_id}
        excluded = {from_b64url(d["id"]) for d in options.get("excludeCredentials", [])}
        if again is None and mine & excluded:
            raise PermissionError("InvalidStateError: already registered on this authenticator")
        assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
        credential = again or SoftCredential(
            id=secrets.token_bytes(32),
            rp_id=rp_id,
            user_handle=from_b64url(options["user"]["id"]),
            key=ec.generate_private_key(ec.SECP256R1()),
        )
        if again is None:
            self.credentials.append(credential)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = (
            self.aaguid
            + struct.pack(">H", len(credential.id))
            + credential.id
            + credential.cose_public_key()
        )
        auth_data = self._auth_data(credential, AT) + attested
        attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        origin: str | None = None,
        credential: SoftCredential | None = None,
    ) -> dict[str, Any]:
        credential = credential or self._choose(options)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(credential, 0)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = credential.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
        }

    def _choose(self, options: dict[str, Any]) -> SoftCredential:
        """The allowed credential, or (empty list) a discoverable one for the RP."""
        rp_id = options["rpId"]
        allowed = {from_b64url(d["id"]) for d in options.get("allowCredentials", [])}
        for credential in self.credentials:
            if credential.rp_id == rp_id and (not allowed or credential.id in allowed):
                return credential
        raise LookupError("NotAllowedError: no credential for this request")

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}, separators=(",", ":")).encode()

    def _auth_data(self, credential: SoftCredential, extra_flags: int) -> bytes:
        credential.sign_count += self.counter_step
        flags = UP | BE | BS | extra_flags | (UV if self.user_verifying else 0)
        rp_id_hash = hashlib.sha256(credential.rp_id.encode()).digest()
        return rp_id_hash + bytes([flags]) + struct.pack(">I", credential.sign_count)
