"""Authlib wiring: the authorization server, its grants and endpoints.

Authlib enforces most of RFC 6749; what it leaves to us is storage, and the
policies cited below (code replay, refresh rotation, PKCE strictness).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, current_app
from sqlalchemy import select, update

from idp.audit import EventTag, record_event
from idp.oidc import tokens
from idp.store import AuthorizationCode, OAuthClient, Token, User, db, digest, utcnow

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@dataclass
class Principal:
    """The resource owner as Authlib sees it: a user plus how and when they
    authenticated, carried from the session to the code to every token."""

    user: User
    auth_time: dt.datetime
    amr: list[str]
    acr: str | None
    sid: str | None
    claims: dict[str, Any] | None = None
    code_id: int | None = None
    family_id: str | None = None
    nonce: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def get_user_id(self) -> str:
        return self.user.sub


class StrictCodeChallenge(CodeChallenge):
    """PKCE per RFC 9700 2.1.1: S256 only (``plain`` is refused), and public
    clients must send a challenge in the authorization request itself."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError(
                "code_challenge_method must be S256", redirect_uri=redirect_uri
            )
        if grant.request.client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError(
                "Public clients must use PKCE (code_challenge)", redirect_uri=redirect_uri
            )
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> Any:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> Any:
        return authorization_code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        principal: Principal = request.user
        data = request.payload.data
        lifetime = current_app.config["IDP"].oidc.code_lifetime
        db.session.add(
            AuthorizationCode(
                code_hash=digest(code),
                client_id=request.client.client_id,
                user_id=principal.user.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope or "",
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=principal.auth_time,
                amr=principal.amr,
                acr=principal.acr,
                sid=principal.sid,
                claims=principal.claims,
                expires_at=utcnow() + dt.timedelta(seconds=lifetime),
            )
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        row = db.session.scalar(
            select(AuthorizationCode).where(
                AuthorizationCode.code_hash == digest(code),
                AuthorizationCode.client_id == client.client_id,
            )
        )
        if row is None:
            return None
        # Consume atomically, so two concurrent redemptions cannot both win.
        consumed = db.session.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if consumed.rowcount != 1:  # type: ignore[attr-defined]
            # RFC 6749 4.1.2: a code used twice SHOULD revoke every token issued from it.
            tokens.revoke_where(Token.code_id == row.id)
            record_event(EventTag.CODE_REPLAYED, client_id=client.client_id)
            return None
        if row.expires_at <= utcnow():
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Kept (already marked used) so that a replay can be recognised."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Principal | None:
        user = db.session.get(User, authorization_code.user_id)
        if user is None or not user.is_active:
            return None
        return Principal(
            user=user,
            auth_time=authorization_code.auth_time,
            amr=authorization_code.get_amr(),
            acr=authorization_code.acr,
            sid=authorization_code.sid,
            claims=authorization_code.claims,
            code_id=authorization_code.id,
            nonce=authorization_code.nonce,
        )


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # RFC 9700 4.14.2: rotate on every use

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        row = db.session.scalar(
            select(Token).where(Token.refresh_token_hash == digest(refresh_token))
        )
        if row is None or row.revoked_at is not None:
            return None
        if row.rotated_at is not None:
            # Reuse of a rotated refresh token: someone holds a stolen copy.
            tokens.revoke_where(Token.family_id == row.family_id)
            record_event(EventTag.REFRESH_REUSED, client_id=row.client_id)
            return None
        if row.refresh_expires_at is None or row.refresh_expires_at <= utcnow():
            return None
        user = db.session.get(User, row.user_id) if row.user_id else None
        if user is None or not user.is_active:
            return None  # invalid_grant, not "no user": RFC 6749 5.2
        self.token_user = user  # authenticate_user needs it next; spare a query
        return row

    def authenticate_user(self, refresh_token: Token) -> Principal | None:
        user: User | None = getattr(self, "token_user", None)
        if user is None or user.id != refresh_token.user_id:
            return None
        if not user.is_active:
            return None
        return Principal(
            user=user,
            auth_time=refresh_token.auth_time or refresh_token.issued_at,
            amr=list(refresh_token.amr or []),
            acr=refresh_token.acr,
            sid=refresh_token.sid,
            claims=refresh_token.claims,
            code_id=refresh_token.code_id,
            family_id=refresh_token.family_id,
        )

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.rotated_at = utcnow()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class IDToken(OpenIDCode):
    """ID tokens for the code grant and, on refresh, a fresh one with the original
    ``auth_time`` and no ``nonce`` (OIDC Core 12.2)."""

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        # Nonces are the client's replay protection; we keep none of our own
        # beyond the codes, so a reused nonce is only refused while its code lives.
        return (
            db.session.scalar(
                select(AuthorizationCode.id).where(
                    AuthorizationCode.client_id == request.payload.client_id,
                    AuthorizationCode.nonce == nonce,
                    AuthorizationCode.used_at.is_(None),
                )
            )
            is not None
        )

    def encode_id_token(self, token: dict[str, Any], request: OAuth2Request) -> str:
        principal: Principal = request.user
        nonce = principal.nonce if request.authorization_code is not None else None
        return tokens.issue_id_token(
            principal,
            request.client,
            scope=token.get("scope", ""),
            access_token=token.get("access_token"),
            nonce=nonce,
        )

    def __call__(self, grant: Any) -> None:
        if isinstance(grant, RefreshTokenGrant):
            grant.register_hook("after_create_token_response", self.process_token)
        else:
            super().__call__(grant)


class Revocation(RevocationEndpoint):
    """RFC 7009. Revoking either token of a grant revokes the whole family
    (2.1: the server SHOULD/MAY invalidate the related tokens)."""

    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return tokens.find_token(token_string, token_type_hint)

    def revoke_token(self, token: tokens.FoundToken, request: OAuth2Request) -> None:
        tokens.revoke_where(Token.family_id == token.row.family_id)


class Introspection(IntrospectionEndpoint):
    """RFC 7662. A client may introspect the tokens issued to it."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return tokens.find_token(token_string, token_type_hint)

    def check_permission(self, token: Any, client: OAuthClient, request: OAuth2Request) -> bool:
        return bool(token.check_client(client))

    def create_introspection_payload(self, token: Any) -> dict[str, Any]:
        return tokens.introspection_payload(token)


class Server(AuthorizationServer):
    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)


def query_client(client_id: str) -> OAuthClient | None:
    if not client_id or len(client_id) > 64 or "\x00" in client_id:
        return None
    return db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


def init_app(app: Flask) -> Server:
    server = Server()
    server.init_app(app, query_client=query_client, save_token=tokens.save_token)
    server.register_token_generator("default", tokens.TokenGenerator())
    code_extensions = [StrictCodeChallenge(required=True), IDToken(require_nonce=False)]
    server.register_grant(AuthorizationCodeGrant, code_extensions)
    server.register_grant(RefreshTokenGrant, [IDToken()])
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    app.extensions["idp.oauth2"] = server
    return server


def authorization_server() -> Server:
    server: Server = current_app.extensions["idp.oauth2"]
    return server


def new_family_id() -> str:
    return secrets.token_hex(16)
