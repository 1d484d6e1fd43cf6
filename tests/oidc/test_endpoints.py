"""UserInfo, introspection, revocation and logout."""

from __future__ import annotations

import pytest

from idp.store import UserStatus, db
from tests.support.oidc import basic, csrf_token

PASSWORD = "Korrekt-Pferd-Batterie-1"
SHOP = ("shop", "shop-secret-0123456789abcdef")
PORTAL = ("portal", "portal-secret-0123456789abcdef")


def test_userinfo_accepts_the_token_in_a_post_body(client, user, portal):
    tokens = portal.tokens_for(user.email, PASSWORD)
    response = client.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert response.json["sub"] == user.sub


@pytest.mark.parametrize(
    ("headers", "status", "challenge"),
    [
        ({}, 401, 'Bearer realm="userinfo"'),
        ({"Authorization": "Bearer garbage"}, 401, 'error="invalid_token"'),
        ({"Authorization": "Bearer " + "a" * 9000}, 401, 'error="invalid_token"'),
        ({"Authorization": "Basic abc"}, 401, 'Bearer realm="userinfo"'),
    ],
)
def test_userinfo_without_a_good_token_is_refused(client, headers, status, challenge):
    response = client.get("/userinfo", headers=headers)
    assert response.status_code == status
    assert challenge in response.headers["WWW-Authenticate"]


def test_userinfo_refuses_a_client_credentials_token(client, oauth_client):
    token = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=basic(*SHOP)
    ).json["access_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_locking_a_user_ends_its_tokens_at_once(client, user, portal):
    tokens = portal.tokens_for(user.email, PASSWORD)
    user.status = UserStatus.LOCKED
    db.session.commit()
    assert (
        client.get(
            "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
        ).status_code
        == 401
    )
    assert portal.refresh(tokens["refresh_token"]).json["error"] == "invalid_grant"


def test_introspection_reports_active_tokens_of_the_caller_only(client, user, portal, shop):
    tokens = portal.tokens_for(user.email, PASSWORD)
    for kind in ("access_token", "refresh_token"):
        own = client.post("/introspect", data={"token": tokens[kind]}, headers=basic(*PORTAL))
        assert own.json["active"] is True and own.json["sub"] == user.sub
        foreign = client.post("/introspect", data={"token": tokens[kind]}, headers=basic(*SHOP))
        assert foreign.json == {"active": False}
    client.post("/revoke", data={"token": tokens["access_token"]}, headers=basic(*PORTAL))
    after = client.post(
        "/introspect", data={"token": tokens["refresh_token"]}, headers=basic(*PORTAL)
    )
    assert after.json == {"active": False}


@pytest.mark.parametrize("endpoint", ["/introspect", "/revoke"])
def test_introspection_and_revocation_validate_their_input(client, oauth_client, endpoint):
    assert client.post(endpoint, data={}, headers=basic(*SHOP)).json["error"] == ("invalid_request")
    assert client.post(endpoint, data={"token": "x"}).status_code == 401
    bad_hint = client.post(
        endpoint, data={"token": "x", "token_type_hint": "id_token"}, headers=basic(*SHOP)
    )
    assert bad_hint.json["error"] == "unsupported_token_type"


def test_revoking_an_unknown_token_is_still_ok(client, oauth_client):
    response = client.post("/revoke", data={"token": "never-issued"}, headers=basic(*SHOP))
    assert response.status_code == 200  # RFC 7009 2.2


def test_logout_without_hint_asks_for_confirmation(client, user, portal):
    portal.sign_in(user.email, PASSWORD)
    page = client.get("/logout")
    assert page.status_code == 200 and b'id="logout-confirm"' in page.data
    assert client.post("/logout/confirm", data={"decision": "logout"}).status_code == 400
    done = client.post(
        "/logout/confirm", data={"decision": "logout", "csrf_token": csrf_token(page)}
    )
    assert b"abgemeldet" in done.data
    assert client.get("/account/").status_code == 302


def test_logout_ends_the_session_tokens(client, user, portal):
    tokens = portal.tokens_for(user.email, PASSWORD)
    client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert portal.refresh(tokens["refresh_token"]).json["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "params",
    [
        {"post_logout_redirect_uri": "https://evil.example/"},
        {"post_logout_redirect_uri": "https://portal.example/", "client_id": "nobody"},
        {"id_token_hint": "garbage"},
    ],
)
def test_logout_refuses_unregistered_targets_with_a_page(client, params):
    response = client.get("/logout", query_string=params)
    assert response.status_code == 400 and "Location" not in response.headers


def test_logout_with_client_id_and_registered_uri_redirects(client, portal_client):
    response = client.get(
        "/logout",
        query_string={"client_id": "portal", "post_logout_redirect_uri": "https://portal.example/"},
    )
    assert response.headers["Location"] == "https://portal.example/"
