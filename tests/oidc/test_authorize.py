"""The authorization endpoint: validation order, prompts, hints, consent (OIDC Core 3.1.2)."""

from __future__ import annotations

import json

import pytest

from tests.support.oidc import csrf_token, query

PASSWORD = "Korrekt-Pferd-Batterie-1"


def error_of(response):
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    params = query(response.headers["Location"])
    assert params["iss"] == "http://localhost"  # RFC 9207: errors name the issuer too
    return params["error"]


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "nobody"},
        {"client_id": ""},
        {"redirect_uri": "https://portal.example/cb/"},
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": ""},
    ],
)
def test_untrusted_client_or_redirect_gets_an_error_page_not_a_redirect(portal, change):
    response = portal.authorize(**change)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert b"Anfrage ung" in response.data


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://portal.example/req"}, "request_uri_not_supported"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": json.dumps({"userinfo": []})}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"id_token_hint": "not-a-jwt"}, "invalid_request"),
    ],
)
def test_bad_request_with_valid_redirect_is_redirected_with_error(portal, change, error):
    assert error_of(portal.authorize(**change)) == error


def test_oversized_parameter_gets_an_error_page(portal):
    response = portal.authorize(state="x" * 5000)
    assert response.status_code == 400 and "Location" not in response.headers


def test_public_client_must_use_pkce(client, public_client):
    response = client.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": "mobile",
            "scope": "openid",
            "redirect_uri": "http://127.0.0.1:7777/cb",
        },
    )
    assert error_of(response) == "invalid_request"


def test_duplicate_parameter_is_refused(client, portal):
    url = "/authorize?" + "&".join(f"{k}={v}" for k, v in portal.params().items())
    response = client.get(url + "&scope=openid")
    assert response.status_code == 400 and b"invalid_request" in response.data


def test_prompt_none_without_session_answers_login_required(portal):
    response = portal.authorize(prompt="none")
    assert error_of(response) == "login_required"
    assert query(response.headers["Location"])["state"] == portal.state


def test_authorize_accepts_post(client, user, portal):
    response = client.post("/authorize", data=portal.params())
    assert response.status_code == 302 and "/login?rid=" in response.headers["Location"]


def test_login_hint_prefills_the_email(portal):
    page = portal.follow(portal.authorize(login_hint="anna@example.de"))
    assert b'value="anna@example.de"' in page.data


def test_existing_session_skips_login(user, portal):
    portal.sign_in(user.email, PASSWORD)
    response = portal.authorize(prompt="none")
    assert "code" in query(response.headers["Location"])


@pytest.mark.parametrize("extra", [{"prompt": "login"}, {"max_age": "0"}])
def test_prompt_login_and_max_age_force_a_fresh_login(user, portal, extra):
    portal.sign_in(user.email, PASSWORD)
    page = portal.follow(portal.authorize(**extra))
    assert page.status_code == 200 and b'id="login-submit"' in page.data
    callback = portal.follow(portal.submit_login(page, user.email, PASSWORD))
    assert "code" in query(callback.headers["Location"])


def test_max_age_with_prompt_none_and_old_session_is_login_required(user, portal):
    portal.sign_in(user.email, PASSWORD)
    assert error_of(portal.authorize(prompt="none", max_age="0")) == "login_required"


def test_id_token_hint_for_someone_else_asks_to_log_in(app, user, portal):
    from idp import accounts
    from idp.store import db

    accounts.create_user("bernd@example.at", PASSWORD, email_verified=True)
    db.session.commit()
    hint = portal.tokens_for("bernd@example.at", PASSWORD)["id_token"]
    portal.sign_in(user.email, PASSWORD, prompt="login")
    assert error_of(portal.authorize(prompt="none", id_token_hint=hint)) == "login_required"


def test_claims_parameter_releases_named_claims_without_their_scope(client, user, portal):
    claims = {"userinfo": {"phone_number": {"essential": True}}, "id_token": {"address": None}}
    tokens = portal.tokens_for(user.email, PASSWORD, scope="openid", claims=json.dumps(claims))
    info = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert info.json == {"sub": user.sub, "phone_number": "+49301234567"}


def test_essential_mfa_acr_without_a_factor_leads_to_enrolment(client, user, portal):
    portal.sign_in(user.email, PASSWORD)
    claims = {"id_token": {"acr": {"essential": True, "values": ["urn:idp:acr:mfa"]}}}
    response = portal.authorize(claims=json.dumps(claims))
    assert "/mfa/step-up?rid=" in response.headers["Location"]
    setup = client.get(client.get(response.headers["Location"]).headers["Location"])
    assert b"vorgeschrieben" in setup.data
    assert error_of(portal.authorize(claims=json.dumps(claims), prompt="none")) == (
        "login_required"
    )


def test_ui_locales_switches_the_page_language(portal):
    page = portal.follow(portal.authorize(ui_locales="en-GB de"))
    assert b'<html lang="en">' in page.data


def test_third_party_client_asks_consent_once(user, shop):
    first = shop.follow(shop.submit_login(shop.follow(shop.authorize()), user.email, PASSWORD))
    assert b'id="consent-allow"' in first.data and b"Shop" in first.data
    shop.sign_in(user.email, PASSWORD)
    assert "code" in query(shop.authorize().headers["Location"])


def test_denied_consent_returns_access_denied(client, user, shop):
    page = shop.follow(shop.submit_login(shop.follow(shop.authorize()), user.email, PASSWORD))
    rid = page.get_data(as_text=True).split('name="rid" value="')[1].split('"')[0]
    response = client.post(
        "/consent", data={"csrf_token": csrf_token(page), "rid": rid, "decision": "deny"}
    )
    assert error_of(response) == "access_denied"


def test_prompt_none_without_consent_is_consent_required(user, shop, portal):
    portal.sign_in(user.email, PASSWORD)  # signed in, but never asked by the shop
    assert error_of(shop.authorize(prompt="none")) == "consent_required"


def test_resuming_an_unknown_request_shows_an_error_page(client):
    response = client.get("/authorize/continue?rid=made-up")
    assert response.status_code == 400 and b"abgelaufen" in response.data
