"""Relying parties, codes, tokens, consents and signing keys.

Secrets (client secrets, codes, refresh and access tokens) are stored as SHA-256
digests: they are high-entropy random values, so a fast hash is enough and keeps
the token endpoint fast; argon2 is for passwords only.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.store.base import UTCDateTime, db, utcnow


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class AuthMethod(enum.StrEnum):
    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    NONE = "none"


class OAuthClient(db.Model, ClientMixin):  # type: ignore[name-defined]
    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), default="RS256")
    # OpenID Connect Back-Channel Logout 1.0: where logout tokens are POSTed
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    secret_rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == AuthMethod.NONE

    # -- Authlib ClientMixin -------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC Core 3.1.2.1: redirect_uri is REQUIRED, so no default is offered.
        return None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(self.scopes)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9700 4.1.3 / OIDC Core 3.1.2.1: exact string comparison.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash or not client_secret:
            return False
        return hmac.compare_digest(self.client_secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method == self.token_endpoint_auth_method
        # revocation and introspection: the registered method, public clients too
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class AuthorizationCode(db.Model):  # type: ignore[name-defined]
    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    acr: Mapped[str | None] = mapped_column(String(64))
    sid: Mapped[str | None] = mapped_column(String(43))
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # -- Authlib AuthorizationCodeMixin --------------------------------------
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr or [])


class Token(db.Model):  # type: ignore[name-defined]
    """One issuance: a JWT access token (by digest) and maybe a refresh token.

    ``family_id`` ties every refresh-token rotation of one grant together, so a
    replayed refresh token can revoke the whole family (RFC 9700 4.14.2)."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text, default="")
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    code_id: Mapped[int | None] = mapped_column(Integer, index=True)
    sid: Mapped[str | None] = mapped_column(String(43), index=True)
    auth_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    acr: Mapped[str | None] = mapped_column(String(64))
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    access_expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # -- Authlib TokenMixin --------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.access_expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.access_expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def check_client(self, client: OAuthClient) -> bool:
        return self.client_id == client.client_id


class Consent(db.Model):  # type: ignore[name-defined]
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class KeyState(enum.StrEnum):
    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"


class SigningKey(db.Model):  # type: ignore[name-defined]
    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
