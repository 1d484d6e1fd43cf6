"""Signing keys: next / active / retired, and the JWKS built from them.

Rotation never makes a valid token fail validation (OIDC Core 10.1.1): a key is
published as ``next`` one rotation before it signs anything, so relying parties
that cache the JWKS already know it; a ``retired`` key stays published until every
token it signed has expired. Each worker caches the key ring for
``oidc.key_cache_seconds`` and reloads early when it meets an unknown ``kid``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from idp.store import KeyState, SigningKey, db, utcnow

Key = RSAKey | ECKey


def generate_key(alg: str, state: KeyState) -> SigningKey:
    kid = secrets.token_urlsafe(12)
    params: Any = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "RS256":
        key: Key = RSAKey.generate_key(2048, parameters=params, private=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=params, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    row = SigningKey(kid=kid, alg=alg, state=state, private_jwk=key.as_dict(private=True))
    if state == KeyState.ACTIVE:
        row.activated_at = utcnow()
    db.session.add(row)
    return row


def ensure_keys(algs: tuple[str, ...] = ("RS256", "ES256")) -> None:
    """Make sure each algorithm has an active and a next key (first start)."""
    for alg in algs:
        states = set(db.session.scalars(select(SigningKey.state).where(SigningKey.alg == alg)))
        if KeyState.ACTIVE not in states:
            generate_key(alg, KeyState.ACTIVE)
        if KeyState.NEXT not in states:
            generate_key(alg, KeyState.NEXT)
    db.session.flush()


def rotate(alg: str, retire_after: dt.timedelta) -> SigningKey:
    """next -> active, active -> retired, a new next; drop retired keys whose
    tokens have all expired. Returns the newly active key."""
    keys = list(db.session.scalars(select(SigningKey).where(SigningKey.alg == alg)))
    now = utcnow()
    for key in keys:
        if key.state == KeyState.ACTIVE:
            key.state, key.retired_at = KeyState.RETIRED, now
        elif (
            key.state == KeyState.RETIRED and key.retired_at and key.retired_at < now - retire_after
        ):
            db.session.delete(key)
    upcoming = next((k for k in keys if k.state == KeyState.NEXT), None)
    if upcoming is None:
        upcoming = generate_key(alg, KeyState.NEXT)
    upcoming.state, upcoming.activated_at = KeyState.ACTIVE, now
    generate_key(alg, KeyState.NEXT)
    db.session.flush()
    return upcoming


@dataclass
class KeyRing:
    """A worker's cached view of the signing keys. Importing a private RSA key
    costs ~70 ms of CPU, so keys are imported once per ``kid``; a refresh only
    reads which keys exist and in which state."""

    loaded_at: float = 0.0
    active: dict[str, Key] = field(default_factory=dict)
    keyset: KeySet = field(default_factory=lambda: KeySet([]))
    jwks_json: bytes = b'{"keys":[]}'
    imported: dict[str, Key] = field(default_factory=dict)
    published: tuple[tuple[str, str], ...] = ()

    def load(self) -> None:
        rows = db.session.execute(
            select(SigningKey.kid, SigningKey.alg, SigningKey.state).order_by(SigningKey.id)
        ).all()
        states = tuple((kid, state) for kid, _, state in rows)
        if states != self.published:
            self._rebuild(rows)
            self.published = states
        self.loaded_at = time.monotonic()

    def _rebuild(self, rows: Sequence[Any]) -> None:
        missing = [kid for kid, _, _ in rows if kid not in self.imported]
        if missing:
            for row in db.session.scalars(select(SigningKey).where(SigningKey.kid.in_(missing))):
                key_class = RSAKey if row.alg == "RS256" else ECKey
                self.imported[row.kid] = key_class.import_key(row.private_jwk)
        keys: list[Any] = [self.imported[kid] for kid, _, _ in rows]
        self.active = {
            alg: self.imported[kid] for kid, alg, state in rows if state == KeyState.ACTIVE
        }
        self.imported = {kid: self.imported[kid] for kid, _, _ in rows}
        self.keyset = KeySet(keys)
        public = {"keys": [k.as_dict(private=False) for k in keys]}
        self.jwks_json = json.dumps(public, separators=(",", ":")).encode()

    def fresh(self) -> KeyRing:
        ttl = current_app.config["IDP"].oidc.key_cache_seconds
        if time.monotonic() - self.loaded_at > ttl or not self.active:
            self.load()
        return self

    def signing_key(self, alg: str) -> Key:
        ring = self.fresh()
        if alg not in ring.active:
            raise LookupError(f"no active {alg} signing key; run `idp keys rotate`")
        return ring.active[alg]

    def verification_keys(self, kid: str | None) -> KeySet:
        ring = self.fresh()
        unknown = kid and all(k.kid != kid for k in ring.keyset.keys)
        # Rotated by another process since we last looked? Reload, but at most once
        # a second, so tokens with made-up kids cannot hammer the database.
        if unknown and time.monotonic() - ring.loaded_at > 1:
            ring.load()
        return ring.keyset


def key_ring() -> KeyRing:
    ring: KeyRing = current_app.extensions["idp.keyring"]
    return ring
