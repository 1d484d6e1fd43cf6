"""The token endpoint: code, refresh and client-credentials grants, client
authentication, replay and reuse detection."""

from __future__ import annotations

import datetime as dt

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from idp.store import AuthorizationCode, db
from tests.support.oidc import basic

PASSWORD = "Korrekt-Pferd-Batterie-1"


def bearer(client, access_token):
    return client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def test_replayed_code_fails_and_revokes_what_it_issued(client, user, portal):
    code = portal.sign_in(user.email, PASSWORD)["code"]
    first = portal.exchange(code).json
    replay = portal.exchange(code)
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert bearer(client, first["access_token"]).status_code == 401
    assert portal.refresh(first["refresh_token"]).json["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(user, portal):
    code = portal.sign_in(user.email, PASSWORD)["code"]
    db.session.execute(
        update(AuthorizationCode).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        )
    )
    db.session.commit()
    assert portal.exchange(code).json["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_verifier": "x" * 43}, "invalid_grant"),
        ({"code_verifier": ""}, "invalid_request"),
        ({"redirect_uri": "https://portal.example/other"}, "invalid_grant"),
        ({"code": "made-up"}, "invalid_grant"),
    ],
)
def test_code_exchange_checks_verifier_redirect_and_code(user, portal, change, error):
    change = dict(change)  # parameters are shared between the database runs
    code = portal.sign_in(user.email, PASSWORD)["code"]
    response = portal.exchange(change.pop("code", code), **change)
    assert response.status_code == 400 and response.json["error"] == error


def test_code_of_another_client_is_invalid_grant(user, portal, shop):
    code = portal.sign_in(user.email, PASSWORD)["code"]
    response = shop.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=portal.redirect_uri,
        code_verifier=portal.verifier,
    )
    assert response.json["error"] == "invalid_grant"


def test_public_client_exchanges_with_pkce_only(client, user, public_client):
    from tests.support.oidc import RelyingParty

    mobile = RelyingParty(client, "mobile", None, "http://127.0.0.1:7777/cb")
    tokens = mobile.tokens_for(user.email, PASSWORD)
    assert "refresh_token" in tokens
    assert mobile.refresh(tokens["refresh_token"]).status_code == 200


def test_reused_refresh_token_revokes_the_whole_family(client, user, portal):
    tokens = portal.tokens_for(user.email, PASSWORD)
    rotated = portal.refresh(tokens["refresh_token"]).json
    reuse = portal.refresh(tokens["refresh_token"])
    assert reuse.json["error"] == "invalid_grant"
    assert portal.refresh(rotated["refresh_token"]).json["error"] == "invalid_grant"
    assert bearer(client, rotated["access_token"]).status_code == 401


def test_refresh_can_narrow_but_not_widen_the_scope(user, portal):
    tokens = portal.tokens_for(user.email, PASSWORD)
    assert portal.refresh(tokens["refresh_token"], scope="openid phone").json["error"] == (
        "invalid_scope"
    )
    narrowed = portal.refresh(tokens["refresh_token"], scope="openid email").json
    assert narrowed["scope"] == "openid email"


def test_client_credentials_gives_a_jwt_without_refresh_token(client, oauth_client):
    response = client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers=basic("shop", "shop-secret-0123456789abcdef"),
    )
    body = response.json
    assert response.status_code == 200 and "refresh_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], KeySet.import_key_set(client.get("/jwks").json))
    assert claims.claims["sub"] == "shop" and claims.header["typ"] == "at+jwt"


@pytest.mark.parametrize(
    "headers",
    [
        basic("shop", "wrong"),
        basic("nobody", "x"),
        {"Authorization": "Basic !!!"},
        {},
    ],
)
def test_bad_client_authentication_is_invalid_client(client, oauth_client, headers):
    response = client.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert response.status_code in (400, 401) and response.json["error"] == "invalid_client"


def test_client_secret_post_works_only_for_clients_registered_for_it(client, oauth_client):
    from idp.oidc import clients

    form = {
        "grant_type": "client_credentials",
        "client_id": "shop",
        "client_secret": "shop-secret-0123456789abcdef",
    }
    assert client.post("/token", data=form).json["error"] == "invalid_client"
    clients.update(oauth_client, auth_method="client_secret_post")
    db.session.commit()
    assert client.post("/token", data=form).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        (
            {"data": {"grant_type": "password", "username": "a", "password": "b"}},
            400,
            "unsupported_grant_type",
        ),
        ({"data": {}}, 400, "unsupported_grant_type"),
        ({"json": {"grant_type": "client_credentials"}}, 400, "unsupported_grant_type"),
        (
            {"data": {"grant_type": "client_credentials", "pad": "x" * 70000}},
            413,
            "invalid_request",
        ),
        (
            {"data": b"\xff\xfe%%%", "content_type": "application/x-www-form-urlencoded"},
            400,
            "unsupported_grant_type",
        ),
    ],
)
def test_malformed_token_requests_get_oauth_errors(client, oauth_client, kwargs, status, error):
    response = client.post(
        "/token", headers=basic("shop", "shop-secret-0123456789abcdef"), **kwargs
    )
    assert response.status_code == status
    assert response.json["error"] == error


def test_token_endpoint_refuses_get_with_json_error(client):
    response = client.get("/token")
    assert response.status_code == 405 and response.json["error"] == "invalid_request"


def test_es256_client_gets_es256_id_tokens(client, user, portal, portal_client):
    from idp.oidc import clients

    clients.update(portal_client, id_token_alg="ES256")
    db.session.commit()
    tokens = portal.tokens_for(user.email, PASSWORD)
    decoded = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks").json))
    assert decoded.header["alg"] == "ES256"
