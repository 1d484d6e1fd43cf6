"""Relying-party registration (operators, through ``idp clients``)."""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from sqlalchemy import delete, select

from idp.audit import EventTag, record_event
from idp.oidc.tokens import revoke_where
from idp.store import AuthMethod, AuthorizationCode, Consent, OAuthClient, Token, db, digest, utcnow

GRANT_TYPES = {"authorization_code", "refresh_token", "client_credentials"}
DEFAULT_SCOPES = "openid profile email address phone customer"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def register(
    *,
    name: str,
    client_id: str | None = None,
    redirect_uris: tuple[str, ...] | list[str] = (),
    post_logout_redirect_uris: tuple[str, ...] | list[str] = (),
    grant_types: tuple[str, ...] | list[str] = ("authorization_code", "refresh_token"),
    scopes: str = DEFAULT_SCOPES,
    auth_method: str = AuthMethod.CLIENT_SECRET_BASIC,
    first_party: bool | None = False,
    id_token_alg: str | None = None,
    secret: str | None = None,
    backchannel_logout_uri: str | None = None,
) -> tuple[OAuthClient, str | None]:
    """Create a client; returns it with its secret in clear (shown once)."""
    client_id = client_id or secrets.token_urlsafe(16)
    if db.session.scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id)):
        raise ValueError(f"client_id {client_id!r} is taken")
    client = OAuthClient(client_id=client_id, name=name, created_at=utcnow())
    _apply(
        client,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris),
        grant_types=list(grant_types),
        scopes=scopes,
        auth_method=auth_method,
        first_party=bool(first_party),
        id_token_alg=id_token_alg or "RS256",
        backchannel_logout_uri=backchannel_logout_uri,
    )
    plain = None
    if not client.is_public:
        plain = secret or new_secret()
        client.client_secret_hash = digest(plain)
    db.session.add(client)
    db.session.flush()
    record_event(EventTag.CLIENT_CREATED, client_id=client_id)
    return client, plain


def update(client: OAuthClient, **values: Any) -> None:
    was_public = client.is_public
    _apply(client, **values)
    if was_public != client.is_public:
        raise ValueError("changing between public and confidential needs a new client")
    record_event(EventTag.CLIENT_UPDATED, client_id=client.client_id, fields=sorted(values))


def rotate_secret(client: OAuthClient) -> str:
    if client.is_public:
        raise ValueError("public clients have no secret")
    secret = new_secret()
    client.client_secret_hash = digest(secret)
    client.secret_rotated_at = utcnow()
    record_event(EventTag.CLIENT_SECRET_ROTATED, client_id=client.client_id)
    return secret


def remove(client: OAuthClient) -> None:
    revoke_where(Token.client_id == client.client_id)
    db.session.execute(
        delete(AuthorizationCode).where(AuthorizationCode.client_id == client.client_id)
    )
    db.session.execute(delete(Consent).where(Consent.client_id == client.client_id))
    record_event(EventTag.CLIENT_REMOVED, client_id=client.client_id)
    db.session.delete(client)


def all_clients() -> list[OAuthClient]:
    return list(db.session.scalars(select(OAuthClient).order_by(OAuthClient.name)))


def describe(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "scope": " ".join(client.scopes),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "first_party": client.first_party,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "backchannel_logout_uri": client.backchannel_logout_uri,
    }


def _apply(client: OAuthClient, **values: Any) -> None:
    if "name" in values:
        client.name = values["name"].strip()[:200]
        if not client.name:
            raise ValueError("name must not be empty")
    if "redirect_uris" in values:
        client.redirect_uris = [_check_uri(u) for u in values["redirect_uris"]]
    if "post_logout_redirect_uris" in values:
        client.post_logout_redirect_uris = [
            _check_uri(u) for u in values["post_logout_redirect_uris"]
        ]
    if "grant_types" in values:
        unknown = set(values["grant_types"]) - GRANT_TYPES
        if unknown or not values["grant_types"]:
            raise ValueError(f"grant types must be among {sorted(GRANT_TYPES)}")
        client.grant_types = sorted(set(values["grant_types"]))
    if "scopes" in values:
        client.scopes = sorted(set(values["scopes"].split()))
    if "auth_method" in values:
        client.token_endpoint_auth_method = AuthMethod(values["auth_method"]).value
    if "first_party" in values:
        client.first_party = bool(values["first_party"])
    if "id_token_alg" in values:
        client.id_token_signed_response_alg = values["id_token_alg"]
    if "backchannel_logout_uri" in values:
        # An empty value removes the URI (`idp clients update --backchannel-logout-uri ""`).
        uri = values["backchannel_logout_uri"]
        client.backchannel_logout_uri = _check_backchannel_uri(uri) if uri else None
    if client.is_public and "client_credentials" in (client.grant_types or []):
        raise ValueError("public clients cannot use client_credentials")
    if "authorization_code" in (client.grant_types or []) and not client.redirect_uris:
        raise ValueError("the authorization_code grant needs at least one --redirect-uri")


def _check_uri(uri: str) -> str:
    """RFC 6749 3.1.2: absolute, no fragment; plain http only for loopback (RFC 8252 7.3)."""
    parts = urlsplit(uri)
    if parts.fragment or not parts.scheme or not parts.netloc:
        raise ValueError(f"{uri!r} must be an absolute URI without fragment")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ValueError(f"{uri!r}: plain http is only allowed for localhost")
    return uri


def _check_backchannel_uri(uri: str) -> str:
    """Back-Channel Logout 1.0 section 2.2: an absolute http(s) URI without a
    fragment. Logout tokens travel in it, so plain http is for loopback only,
    unless ``oidc.backchannel_allow_http`` permits it (a private network)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise ValueError(f"{uri!r} must be an absolute http(s) URI without fragment")
    allow_http = has_app_context() and current_app.config["IDP"].oidc.backchannel_allow_http
    if parts.scheme == "http" and not allow_http and not _is_loopback(parts.hostname):
        raise ValueError(f"{uri!r}: plain http is only allowed for localhost")
    return uri


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
