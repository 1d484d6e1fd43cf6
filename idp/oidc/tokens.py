"""Issuing and checking tokens: JWT access tokens (RFC 9068), ID tokens
(OIDC Core 2), opaque refresh tokens, and their storage."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oidc.core.util import create_half_hash
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import ColumnElement, or_, select, update

from idp.oidc import claims as oidc_claims
from idp.oidc.keys import key_ring
from idp.store import OAuthClient, Token, User, db, digest, utcnow

if TYPE_CHECKING:
    from authlib.oauth2.rfc6749 import OAuth2Request

    from idp.oidc.server import Principal

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 2.1


class InvalidToken(Exception):
    """The bearer token is malformed, expired, revoked or not ours."""


def _oidc_config() -> Any:
    return current_app.config["IDP"]


class TokenGenerator(BearerTokenGenerator):
    """Bearer tokens whose access token is an RS256/ES256-signed JWT (RFC 9068),
    so resource servers can validate them offline, and whose refresh token is
    an opaque random value stored only as a digest."""

    def __init__(self) -> None:
        super().__init__(self.access_token, self.refresh_token, self.expires_in)

    @staticmethod
    def expires_in(client: OAuthClient, grant_type: str) -> int:
        return int(_oidc_config().oidc.access_token_lifetime)

    @staticmethod
    def refresh_token(**_: Any) -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def access_token(client: OAuthClient, grant_type: str, user: Any, scope: str) -> str:
        config = _oidc_config()
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": config.issuer,
            "exp": now + config.oidc.access_token_lifetime,
            "aud": client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "jti": secrets.token_urlsafe(16),
            "scope": scope,
        }
        if user is None:
            claims["sub"] = client.client_id  # RFC 9068 2.2: no resource owner
        else:
            principal: Principal = user
            claims["sub"] = principal.user.sub
            claims["auth_time"] = int(principal.auth_time.timestamp())
            if principal.acr:
                claims["acr"] = principal.acr
            if principal.amr:
                claims["amr"] = principal.amr
            if principal.sid:
                claims["sid"] = principal.sid
            # RFC 9068 2.2.3.1: the same customer claims as the ID token, so
            # resource servers need no userinfo call.
            claims.update(oidc_claims.customer_claims(principal.user, scope, principal.claims))
        alg = config.oidc.default_signing_alg
        key = key_ring().signing_key(alg)
        header = {"alg": alg, "typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
        return jwt.encode(header, claims, key)


def save_token(token: dict[str, Any], request: OAuth2Request) -> None:
    """Authlib's save_token hook: store digests only."""
    from idp.oidc.server import new_family_id

    config = _oidc_config()
    now = utcnow()
    principal: Principal | None = request.user
    row = Token(
        client_id=request.client.client_id,
        scope=token.get("scope", ""),
        access_token_hash=digest(token["access_token"]),
        issued_at=now,
        access_expires_at=now + dt.timedelta(seconds=token.get("expires_in", 0)),
        family_id=new_family_id(),
    )
    if "refresh_token" in token:
        row.refresh_token_hash = digest(token["refresh_token"])
        row.refresh_expires_at = now + dt.timedelta(seconds=config.oidc.refresh_token_lifetime)
    if principal is not None:
        row.user_id = principal.user.id
        row.family_id = principal.family_id or row.family_id
        row.code_id = principal.code_id
        row.sid = principal.sid
        row.auth_time = principal.auth_time
        row.amr = principal.amr
        row.acr = principal.acr
        row.claims = principal.claims
    db.session.add(row)


def issue_id_token(
    principal: Principal,
    client: OAuthClient,
    *,
    scope: str,
    access_token: str | None,
    nonce: str | None,
) -> str:
    """OIDC Core 2 and 3.1.3.6 (at_hash)."""
    config = _oidc_config()
    alg = client.id_token_signed_response_alg or config.oidc.default_signing_alg
    now = int(time.time())
    claims = oidc_claims.release(principal.user, scope, principal.claims, "id_token")
    claims.update(
        {
            "iss": config.issuer,
            "aud": client.client_id,
            "exp": now + config.oidc.id_token_lifetime,
            "iat": now,
            "auth_time": int(principal.auth_time.timestamp()),
            "amr": principal.amr,
        }
    )
    if principal.acr:
        claims["acr"] = principal.acr
    if principal.sid:
        claims["sid"] = principal.sid
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["at_hash"] = create_half_hash(access_token, alg).decode()
    key = key_ring().signing_key(alg)
    return jwt.encode({"alg": alg, "typ": "JWT", "kid": key.kid}, claims, key)


def decode_jwt(value: str, *, typ: str | None = None) -> dict[str, Any]:
    """Verify a JWT signed by us: signature with a known key, our issuer, and the
    ``typ`` header when given. Expiry is the caller's business."""
    try:
        token = jwt.decode(value, key_ring().verification_keys(_kid_of(value)))
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
    header = token.header
    if typ is not None and header.get("typ", "").lower() != typ:
        raise InvalidToken("wrong token type")
    if token.claims.get("iss") != _oidc_config().issuer:
        raise InvalidToken("foreign issuer")
    return dict(token.claims)


def _kid_of(value: str) -> str | None:
    import base64
    import json

    try:
        head = value.split(".", 1)[0]
        data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        kid = data.get("kid") if isinstance(data, dict) else None
        return kid if isinstance(kid, str) else None
    except ValueError:
        return None


def validate_access_token(value: str) -> tuple[Token, User | None]:
    """For our own resource endpoints (userinfo): signature, expiry, and that the
    token is neither revoked nor its user locked."""
    if not value or len(value) > 8192:
        raise InvalidToken("missing or oversized token")
    claims = decode_jwt(value, typ=ACCESS_TOKEN_TYPE)
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        raise InvalidToken("expired")
    found = db.session.execute(
        select(Token, User)
        .outerjoin(User, Token.user_id == User.id)
        .where(Token.access_token_hash == digest(value))
    ).first()
    if found is None or found[0].revoked_at is not None:
        raise InvalidToken("revoked")
    row, user = found
    if row.user_id and (user is None or not user.is_active):
        raise InvalidToken("user inactive")
    return row, user


@dataclass
class FoundToken:
    """A stored token row and which of its two tokens was presented."""

    row: Token
    kind: str  # "access_token" | "refresh_token"

    def check_client(self, client: OAuthClient) -> bool:
        return self.row.client_id == client.client_id

    def is_active(self) -> bool:
        row = self.row
        if row.revoked_at is not None:
            return False
        if self.kind == "refresh_token":
            expires = row.refresh_expires_at
            return row.rotated_at is None and expires is not None and expires > utcnow()
        return row.access_expires_at > utcnow()


def find_token(value: str, hint: str | None) -> FoundToken | None:
    """Look a presented token up by digest; the hint only orders the search
    (RFC 7009 2.1: the server MUST extend its search to all token types)."""
    if not value or len(value) > 8192:
        return None
    hashed = digest(value)
    row = db.session.scalar(
        select(Token).where(
            or_(Token.access_token_hash == hashed, Token.refresh_token_hash == hashed)
        )
    )
    if row is None:
        return None
    kind = "refresh_token" if row.refresh_token_hash == hashed else "access_token"
    return FoundToken(row, kind)


def revoke_where(condition: ColumnElement[bool]) -> None:
    db.session.execute(
        update(Token).where(condition, Token.revoked_at.is_(None)).values(revoked_at=utcnow())
    )


def revoke_for_user(user: User) -> None:
    revoke_where(Token.user_id == user.id)


def introspection_payload(found: FoundToken | None) -> dict[str, Any]:
    """RFC 7662 2.2: inactive, expired, revoked, foreign and unknown tokens all
    answer just ``{"active": false}``."""
    if found is None or not found.is_active():
        return {"active": False}
    token = found.row
    user = db.session.get(User, token.user_id) if token.user_id else None
    if token.user_id and (user is None or not user.is_active):
        return {"active": False}
    expiry = token.refresh_expires_at if found.kind == "refresh_token" else None
    expiry = expiry or token.access_expires_at
    payload: dict[str, Any] = {
        "active": True,
        "scope": token.scope,
        "client_id": token.client_id,
        "token_type": "Bearer",
        "exp": int(expiry.timestamp()),
        "iat": int(token.issued_at.timestamp()),
        "iss": _oidc_config().issuer,
        "sub": user.sub if user else token.client_id,
        "aud": token.client_id,
    }
    if user is not None:
        payload["username"] = user.email
    return payload
