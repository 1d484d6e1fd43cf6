"""The full relying-party dance over HTTP, tokens verified with joserfc."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.oidc import RelyingParty, basic

PASSWORD = "Korrekt-Pferd-Batterie-1"


def verify(client, token: str, audience: str) -> dict:
    keys = KeySet.import_key_set(client.get("/jwks").json)
    decoded = jwt.decode(token, keys)
    claims = decoded.claims
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == audience
    assert claims["exp"] > time.time()
    return {"header": decoded.header, **claims}


def test_discovery_names_every_endpoint(client):
    meta = client.get("/.well-known/openid-configuration").json
    assert meta["issuer"] == "http://localhost"
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ):
        assert meta[name].startswith("http://localhost/")
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["request_parameter_supported"] is False
    assert meta["authorization_response_iss_parameter_supported"] is True


def test_full_relying_party_dance(client, user, portal: RelyingParty):
    callback = portal.sign_in(user.email, PASSWORD)
    assert callback["state"] == portal.state
    assert callback["iss"] == "http://localhost"
    tokens = portal.exchange(callback["code"]).json
    assert tokens["token_type"] == "Bearer"

    id_token = verify(client, tokens["id_token"], "portal")
    assert id_token["header"]["alg"] == "RS256"
    assert id_token["sub"] == user.sub
    assert id_token["nonce"] == portal.nonce
    assert id_token["amr"] == ["pwd"]
    assert id_token["auth_time"] <= time.time()
    assert "at_hash" in id_token and "sid" in id_token

    access = verify(client, tokens["access_token"], "portal")
    assert access["header"]["typ"] == "at+jwt"
    assert access["client_id"] == "portal" and access["sub"] == user.sub

    info = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.json == {
        "sub": user.sub,
        "email": user.email,
        "email_verified": True,
        "name": "Anna Schmidt",
        "given_name": "Anna",
        "family_name": "Schmidt",
        "updated_at": info.json["updated_at"],
    }

    refreshed = portal.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200
    new = refreshed.json
    assert new["refresh_token"] != tokens["refresh_token"]
    assert verify(client, new["id_token"], "portal")["auth_time"] == id_token["auth_time"]

    revoked = client.post(
        "/revoke", data={"token": new["refresh_token"]}, headers=basic("portal", portal.secret)
    )
    assert revoked.status_code == 200
    assert portal.refresh(new["refresh_token"]).json["error"] == "invalid_grant"
    after = client.get("/userinfo", headers={"Authorization": "Bearer " + new["access_token"]})
    assert after.status_code == 401

    logout = client.get(
        "/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "state": "bye",
            "post_logout_redirect_uri": "https://portal.example/",
        },
    )
    assert logout.headers["Location"] == "https://portal.example/?state=bye"
    assert client.get("/account/").status_code == 302


def test_discovery_and_jwks_are_cacheable_and_readable_cross_origin(client):
    for path in ("/.well-known/openid-configuration", "/jwks"):
        response = client.get(path)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        assert client.head(path).status_code == 200
    assert client.post("/jwks").status_code in (404, 405)
