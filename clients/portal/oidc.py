"""The relying party's side of OpenID Connect, on Authlib's Flask client:
discovery, the code flow with PKCE (S256) and nonce, ID-token validation (done
by Authlib: signature via JWKS, iss, aud, exp, iat, nonce, at_hash), refresh,
and validation of back-channel Logout Tokens."""

from __future__ import annotations

import time
from typing import Any

from authlib.integrations.flask_client import OAuth
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from clients.portal.config import PortalConfig

# customer: the membership claims this portal authorises from; customer_admin:
# the administration API (the provider grants it to active administrators only,
# and the API refuses everyone else anyway).
SCOPES = "openid profile email customer customer_admin"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPES = {"logout+jwt", "jwt"}
LOGOUT_TOKEN_MAX_AGE = 600  # seconds; older Logout Tokens are refused
LEEWAY = 60


class LogoutTokenError(ValueError):
    """The Logout Token is not acceptable (Back-Channel Logout 1.0, 2.6)."""


class SubjectMismatch(ValueError):
    """A refreshed ID token or userinfo names another user (OIDC Core 12.2)."""


def register(oauth: OAuth, config: PortalConfig) -> Any:
    return oauth.register(
        "idp",
        server_metadata_url=config.issuer + "/.well-known/openid-configuration",
        client_id=config.client_id,
        client_secret=config.client_secret,
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "timeout": config.http_timeout,
        },
    )


def refresh(client: Any, token: dict[str, Any]) -> dict[str, Any]:
    """Spend the refresh token (rotated by the provider: keep the new one).
    Raises Authlib's OAuthError, e.g. ``invalid_grant`` once the user is locked."""
    new = dict(
        client.fetch_access_token(grant_type="refresh_token", refresh_token=token["refresh_token"])
    )
    new.setdefault("refresh_token", token["refresh_token"])
    new.setdefault("id_token", token.get("id_token"))
    return new


def claims_after_refresh(client: Any, token: dict[str, Any], sub: str) -> dict[str, Any]:
    """OIDC Core 12.2: the refreshed ID token has the same ``sub`` (and no
    ``nonce``); without one, userinfo gives the current claims."""
    if token.get("id_token") and "access_token" in token:
        claims = dict(client.parse_id_token(token, nonce=None, leeway=LEEWAY))
    else:
        claims = dict(client.userinfo(token=token))
    if claims.get("sub") != sub:
        raise SubjectMismatch("the refreshed claims name another subject")
    return claims


def _decode(raw: str, keys: Any, algorithms: list[str]) -> Any:
    return jwt.decode(
        raw,
        KeySet.import_key_set(keys),
        registry=JWSRegistry(algorithms=algorithms, strict_check_header=False),
    )


def validate_logout_token(client: Any, config: PortalConfig, raw: str) -> dict[str, Any]:
    """Back-Channel Logout 1.0, 2.6: signature with the provider's keys, ``iss``,
    ``aud``, ``iat`` (and ``exp`` if present), the logout ``events`` member, a
    ``sid`` or ``sub``, and no ``nonce`` (so an ID token cannot pose as one)."""
    metadata = client.load_server_metadata()
    algorithms = list(metadata.get("id_token_signing_alg_values_supported") or ["RS256"])
    algorithms = [a for a in algorithms if a.lower() != "none"]
    try:
        try:
            token = _decode(raw, client.fetch_jwk_set(), algorithms)
        except InvalidKeyIdError:
            token = _decode(raw, client.fetch_jwk_set(force=True), algorithms)
    except (JoseError, ValueError, TypeError) as exc:
        raise LogoutTokenError(f"undecodable or badly signed: {exc}") from None
    typ = str(token.header.get("typ", "logout+jwt")).lower()
    if typ not in LOGOUT_TOKEN_TYPES:
        raise LogoutTokenError(f"typ {typ!r} is not a logout token")
    claims: dict[str, Any] = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": config.issuer},
        aud={"essential": True, "value": config.client_id},
        iat={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise LogoutTokenError(f"claims: {exc}") from None
    now = time.time()
    if not isinstance(claims["iat"], (int, float)) or claims["iat"] < now - LOGOUT_TOKEN_MAX_AGE:
        raise LogoutTokenError("iat is too old")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
        raise LogoutTokenError("no back-channel logout event")
    if not isinstance(claims.get("sid"), str) and not isinstance(claims.get("sub"), str):
        raise LogoutTokenError("neither sid nor sub")
    if "nonce" in claims:
        raise LogoutTokenError("a logout token carries no nonce")
    return claims
