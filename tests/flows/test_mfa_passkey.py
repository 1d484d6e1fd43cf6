"""Passkeys over HTTP, driven as passkeys.js drives them, answered by a
software authenticator: adding (settings and forced enrolment), the second
factor after the password, and passwordless sign-in from the login page."""

from __future__ import annotations

import dataclasses
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.audit import EventTag
from idp.store import (
    AuditEvent,
    BrowserSession,
    Credential,
    CredentialType,
    User,
    UserStatus,
    db,
    utcnow,
)
from tests.support.oidc import RID, csrf_token, query
from tests.support.webauthn import SoftAuthenticator

PASSWORD = "Korrekt-Pferd-Batterie-1"
OPTIONS = "/mfa/passkey/register/options"
REGISTER = "/mfa/passkey/register"
AUTH_OPTIONS = "/mfa/passkey/authenticate/options"
AUTHENTICATE = "/mfa/passkey/authenticate"


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def signed_in(client, user):
    assert login(client, user.email).headers["Location"] == "/account/"
    return user


@pytest.fixture
def with_passkey(client, signed_in, authenticator):
    """Anna with a passkey "Laptop" (and a recovery code, so enrolment does not
    stop at the recovery code page), signed out again."""
    give_recovery_code(signed_in)
    assert enrol(client, authenticator).status_code == 200
    sign_out(client)
    return signed_in


def login(client, email, password=PASSWORD, rid=""):
    page = client.get("/login", query_string={"rid": rid} if rid else None)
    form = {"csrf_token": csrf_token(page), "rid": rid, "email": email, "password": password}
    return client.post("/login", data=form)


def sign_out(client):
    page = client.get("/logout")
    client.post("/logout/confirm", data={"csrf_token": csrf_token(page), "decision": "logout"})


def give_recovery_code(user):
    db.session.add(
        Credential(user_id=user.id, type=CredentialType.RECOVERY_CODE, confirmed_at=utcnow())
    )
    db.session.commit()


def call(client, url, page, body):
    """A JSON call as passkeys.js makes it: the page's CSRF token in a header."""
    return client.post(url, json=body, headers={"X-CSRFToken": csrf_token(page)})


def enrol(client, authenticator, name="Laptop"):
    page = client.get("/mfa/passkey/")
    assert page.status_code == 200, page.headers.get("Location")
    options = call(client, OPTIONS, page, {"name": name})
    assert options.status_code == 200, options.json
    answer = authenticator.create(options.json)
    return call(client, REGISTER, page, {"name": name, "credential": answer})


def passkey_sign_in(client, authenticator, rid=""):
    """The login page's button: options without a user, the assertion back."""
    page = client.get("/login", query_string={"rid": rid} if rid else None)
    options = call(client, AUTH_OPTIONS, page, {"mode": "sign_in"})
    answer = authenticator.get(options.json)
    return call(client, AUTHENTICATE, page, {"mode": "sign_in", "rid": rid, "credential": answer})


def second_factor(client, authenticator, remember=False):
    """The challenge page: its form (CSRF, remember_device) with the assertion."""
    page = client.get("/mfa/passkey/challenge")
    assert page.status_code == 200, page.headers.get("Location")
    options = call(client, AUTH_OPTIONS, page, {"mode": "second_factor"})
    answer = authenticator.get(options.json)
    form = {
        "csrf_token": csrf_token(page),
        "mode": "second_factor",
        "credential": json.dumps(answer),
    }
    if remember:
        form["remember_device"] = "y"
    return client.post(AUTHENTICATE, data=form)


def id_token_claims(portal, response):
    callback = query(portal.follow(response).headers["Location"])
    tokens = portal.exchange(callback["code"]).json
    keys = KeySet.import_key_set(portal.http.get("/jwks").json)
    return jwt.decode(tokens["id_token"], keys).claims


# -- adding a passkey -------------------------------------------------------
def test_setup_page_links_to_the_enrol_page_with_name_field_and_button(client, signed_in):
    setup = client.get("/mfa/setup").get_data(as_text=True)
    assert 'id="add-passkey" href="/mfa/passkey/"' in setup
    html = client.get("/mfa/passkey/").get_data(as_text=True)
    assert 'id="name" name="name" type="text"' in html and 'id="passkey-add"' in html
    assert "Passkey hinzufügen" in html
    assert 'src="/static/passkeys.js"' in html and "nonce=" in html


def test_enrol_page_is_refused_to_visitors(client, user):
    assert client.get("/mfa/passkey/").headers["Location"].startswith("/login")
    page = client.get("/login")
    response = call(client, OPTIONS, page, {"name": "Laptop"})
    assert response.status_code == 401 and response.json["redirect"] == "/login"


def test_added_passkey_shows_by_name_on_setup_page_and_mails_the_owner(
    client, signed_in, authenticator, mailbox
):
    give_recovery_code(signed_in)
    response = enrol(client, authenticator, name="Laptop")
    assert response.status_code == 200 and response.json == {"redirect": "/mfa/setup"}
    assert "Passkey „Laptop“" in client.get("/mfa/setup").get_data(as_text=True)
    event = AuditEvent.query.filter_by(tag=EventTag.MFA_ENROLLED).one()
    assert event.details["type"] == "webauthn" and event.details["name"] == "Laptop"
    assert mailbox.to(signed_in.email)


def test_first_passkey_goes_on_to_the_recovery_code(client, signed_in, authenticator):
    response = enrol(client, authenticator)
    assert response.status_code == 200
    assert response.json["redirect"].startswith("/mfa/recovery/")


def test_second_passkey_excludes_the_first_and_both_are_listed(client, signed_in, authenticator):
    give_recovery_code(signed_in)
    enrol(client, authenticator, name="Laptop")
    page = client.get("/mfa/passkey/")
    options = call(client, OPTIONS, page, {"name": "Handy"}).json
    assert len(options["excludeCredentials"]) == 1
    assert enrol(client, SoftAuthenticator(), name="Handy").status_code == 200
    setup = client.get("/mfa/setup").get_data(as_text=True)
    assert "Passkey „Laptop“" in setup and "Passkey „Handy“" in setup


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None, ["Laptop"]])
def test_passkey_without_a_sensible_name_is_refused_at_the_field(client, signed_in, name):
    page = client.get("/mfa/passkey/")
    response = call(client, OPTIONS, page, {"name": name})
    assert response.status_code == 400 and response.json["field"] == "name"
    assert response.json["error"]


def test_registration_challenge_is_single_use(client, signed_in, authenticator):
    give_recovery_code(signed_in)
    page = client.get("/mfa/passkey/")
    answer = authenticator.create(call(client, OPTIONS, page, {"name": "Laptop"}).json)
    body = {"name": "Laptop", "credential": answer}
    assert call(client, REGISTER, page, body).status_code == 200
    replay = call(client, REGISTER, page, body)
    assert replay.status_code == 400 and "abgelaufen" in replay.json["error"]


def test_registration_challenge_expires_after_five_minutes(app, client, signed_in, authenticator):
    page = client.get("/mfa/passkey/")
    answer = authenticator.create(call(client, OPTIONS, page, {"name": "Laptop"}).json)
    row = BrowserSession.query.filter_by(user_id=signed_in.id).one()
    data = dict(row.data)
    data["passkey"] = {
        k: {**v, "expires_at": v["expires_at"] - 301} for k, v in data["passkey"].items()
    }
    row.data = data
    db.session.commit()
    response = call(client, REGISTER, page, {"name": "Laptop", "credential": answer})
    assert response.status_code == 400 and "abgelaufen" in response.json["error"]
    assert Credential.query.count() == 0


def test_answer_from_another_origin_is_refused(client, signed_in, authenticator):
    page = client.get("/mfa/passkey/")
    options = call(client, OPTIONS, page, {"name": "Laptop"}).json
    answer = authenticator.create(options, origin="https://phish.example")
    response = call(client, REGISTER, page, {"name": "Laptop", "credential": answer})
    assert response.status_code == 400 and "nicht eingerichtet" in response.json["error"]
    assert Credential.query.count() == 0


def test_rename_changes_the_name_shown_on_the_setup_page(client, signed_in, authenticator):
    give_recovery_code(signed_in)
    enrol(client, authenticator)
    passkey = Credential.query.filter_by(type="webauthn").one()
    page = client.get("/mfa/passkey/")
    form = {"csrf_token": csrf_token(page), "name": "Arbeitslaptop"}
    response = client.post(f"/mfa/passkey/{passkey.id}/rename", data=form)
    assert response.headers["Location"] == "/mfa/passkey/"
    assert "Passkey „Arbeitslaptop“" in client.get("/mfa/setup").get_data(as_text=True)
    form["name"] = ""
    client.post(f"/mfa/passkey/{passkey.id}/rename", data=form)
    assert "Bitte geben Sie einen Namen" in client.get("/mfa/passkey/").get_data(as_text=True)
    assert client.post("/mfa/passkey/999999/rename", data=form).status_code == 404


# -- second factor ----------------------------------------------------------
def test_password_login_with_a_passkey_goes_to_the_passkey_challenge(client, with_passkey):
    response = login(client, with_passkey.email)
    assert response.headers["Location"] == "/mfa/"
    assert client.get("/mfa/").headers["Location"] == "/mfa/passkey/challenge"
    page = client.get("/mfa/passkey/challenge")
    html = page.get_data(as_text=True)
    assert 'id="passkey-verify"' in html and 'id="remember_device"' in html
    assert 'href="/mfa/choose"' in html
    options = call(client, AUTH_OPTIONS, page, {"mode": "second_factor"}).json
    passkey = Credential.query.filter_by(type="webauthn").one()
    assert [d["id"] for d in options["allowCredentials"]] == [passkey.lookup]
    assert options["rpId"] == "localhost" and options["userVerification"] == "preferred"


def test_passkey_as_second_factor_signs_in_and_remembers_the_device(
    client, with_passkey, authenticator
):
    login(client, with_passkey.email)
    response = second_factor(client, authenticator, remember=True)
    assert response.status_code == 200 and response.json == {"redirect": "/account/"}
    assert client.get_cookie("idp_device") is not None
    assert client.get("/account/").status_code == 200
    passkey = Credential.query.filter_by(type="webauthn").one()
    assert passkey.last_used_at is not None and passkey.data["sign_count"] == 2


def test_second_factor_gives_mfa_amr_and_acr_in_the_id_token(
    client, with_passkey, authenticator, portal
):
    login_page = portal.follow(portal.authorize())
    response = portal.submit_login(login_page, with_passkey.email, PASSWORD)
    assert portal.follow(response).request.path == "/mfa/passkey/challenge"
    response = second_factor(client, authenticator)
    claims = id_token_claims(portal, client.get(response.json["redirect"]))
    assert claims["amr"] == ["hwk", "mfa", "pwd"]
    assert claims["acr"] == "urn:idp:acr:mfa"


def test_passkey_of_someone_else_fails_and_five_failures_end_the_challenge(
    client, app, with_passkey, authenticator
):
    # The same credential id with another key: a forgery, not Anna's passkey.
    forged = dataclasses.replace(
        authenticator.credentials[0], key=ec.generate_private_key(ec.SECP256R1()), sign_count=5
    )
    stranger = SoftAuthenticator(credentials=[forged])
    login(client, with_passkey.email)
    for _ in range(5):
        response = second_factor(client, stranger)
        assert response.status_code == 400
        assert "nicht bestätigt" in response.json["error"]
    assert response.json["redirect"] == "/login"
    assert client.get("/mfa/passkey/challenge").headers["Location"] == "/login"


def test_challenge_calls_without_a_password_step_are_refused(client, with_passkey):
    assert client.get("/mfa/passkey/challenge").headers["Location"] == "/login"
    page = client.get("/login")
    response = call(client, AUTH_OPTIONS, page, {"mode": "second_factor"})
    assert response.status_code == 401


# -- passwordless -----------------------------------------------------------
def test_login_page_offers_the_passkey_button_and_autofill(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'autocomplete="username webauthn"' in html
    assert 'id="passkey-login"' in html and 'id="passkey-login-area"' in html
    assert 'src="/static/passkeys.js"' in html and 'id="login-submit"' in html


def test_passkey_alone_signs_in_from_the_login_page(client, with_passkey, authenticator):
    response = passkey_sign_in(client, authenticator)
    assert response.status_code == 200 and response.json == {"redirect": "/account/"}
    assert client.get("/account/").status_code == 200
    session = BrowserSession.query.filter_by(user_id=with_passkey.id).one()
    assert session.amr == ["hwk", "mfa", "user"] and session.acr == "urn:idp:acr:mfa"


def test_passwordless_sign_in_continues_the_authorization_with_mfa_claims(
    client, with_passkey, authenticator, portal
):
    login_page = portal.follow(portal.authorize())
    rid = RID.search(login_page.get_data(as_text=True)).group(1)
    response = passkey_sign_in(client, authenticator, rid=rid)
    assert response.json["redirect"].startswith("/authorize/continue")
    claims = id_token_claims(portal, client.get(response.json["redirect"]))
    assert claims["amr"] == ["hwk", "mfa", "user"]
    assert claims["acr"] == "urn:idp:acr:mfa"


def test_passkey_without_user_verification_cannot_sign_in_alone(
    client, with_passkey, authenticator
):
    authenticator.user_verifying = False
    response = passkey_sign_in(client, authenticator)
    assert response.status_code == 400 and "nicht bestätigt" in response.json["error"]
    assert client.get("/account/").status_code == 302


def test_cloned_passkey_is_refused_and_put_on_record(client, with_passkey, authenticator):
    assert passkey_sign_in(client, authenticator).status_code == 200
    sign_out(client)
    authenticator.credentials[0].sign_count = 0  # a copy made before that sign-in
    response = passkey_sign_in(client, authenticator)
    assert response.status_code == 400 and "kopiert" in response.json["error"]
    event = AuditEvent.query.filter_by(tag=EventTag.LOGIN_FAILED).one()
    assert event.details["reason"] == "passkey_cloned"


def test_locked_user_cannot_sign_in_with_a_passkey(client, with_passkey, authenticator):
    db.session.get(User, with_passkey.id).status = UserStatus.LOCKED
    db.session.commit()
    response = passkey_sign_in(client, authenticator)
    assert response.status_code == 403 and "gesperrt" in response.json["error"]


def test_sign_in_challenge_is_single_use(client, with_passkey, authenticator):
    page = client.get("/login")
    options = call(client, AUTH_OPTIONS, page, {"mode": "sign_in"}).json
    body = {"mode": "sign_in", "credential": authenticator.get(options)}
    wrong = dict(body, credential={**body["credential"], "id": "AAAA", "rawId": "AAAA"})
    assert call(client, AUTHENTICATE, page, wrong).status_code == 400
    response = call(client, AUTHENTICATE, page, body)
    assert response.status_code == 400 and "abgelaufen" in response.json["error"]


def test_removed_passkey_no_longer_signs_in(client, with_passkey, authenticator):
    login(client, with_passkey.email)
    second_factor(client, authenticator)
    passkey = Credential.query.filter_by(type="webauthn").one()
    page = client.get("/mfa/setup")
    form = {"csrf_token": csrf_token(page), "password": PASSWORD}
    assert client.post(f"/mfa/credentials/{passkey.id}/remove", data=form).status_code == 302
    sign_out(client)
    assert passkey_sign_in(client, authenticator).status_code == 400


# -- forced enrolment and bad input -----------------------------------------
@pytest.mark.config(mfa={"policy": "required"})
def test_forced_enrolment_with_a_passkey_finishes_the_sign_in(client, user, authenticator):
    give_recovery_code(user)
    assert login(client, user.email).headers["Location"] == "/mfa/setup"
    response = enrol(client, authenticator)
    assert response.status_code == 200 and response.json == {"redirect": "/account/"}
    session = BrowserSession.query.filter_by(user_id=user.id).one()
    assert session.amr == ["hwk", "mfa", "pwd"]


@pytest.mark.parametrize(
    "body",
    [
        {"json": [1, 2]},
        {"json": {"mode": "anything"}},
        {"json": {"mode": "sign_in", "credential": "{"}},
        {"json": {"mode": "sign_in", "credential": {"id": 5, "response": []}}},
        {"data": "not json", "content_type": "application/json"},
        {"data": {"mode": "sign_in", "credential": "x" * 60_000}},
    ],
)
def test_bad_input_to_json_calls_gets_json_400(client, user, body):
    page = client.get("/login")
    call(client, AUTH_OPTIONS, page, {"mode": "sign_in"})
    for url in (AUTH_OPTIONS, AUTHENTICATE):
        response = client.post(url, headers={"X-CSRFToken": csrf_token(page)}, **body)
        assert response.status_code in (200, 400), response.data[:300]
        assert response.is_json
    response = client.post(AUTHENTICATE, headers={"X-CSRFToken": csrf_token(page)}, **body)
    assert response.status_code == 400 and response.json["error"]


def test_oversized_json_call_gets_json_413(client, user):
    page = client.get("/login")
    body = {"mode": "sign_in", "credential": "x" * 70_000}
    response = client.post(AUTHENTICATE, json=body, headers={"X-CSRFToken": csrf_token(page)})
    assert response.status_code == 413 and response.json["error"]


def test_json_call_without_csrf_token_gets_json_400(client, user):
    client.get("/login")
    response = client.post(AUTH_OPTIONS, json={"mode": "sign_in"})
    assert response.status_code == 400 and "abgelaufen" in response.json["error"]
    assert client.get(AUTHENTICATE).status_code == 405
